"""Schemathesis hooks for the CLI fuzz (scripts/api-fuzz.sh): the run keeps its own credentials.

The fuzz authenticates as one user with one API token. Three operations, given that user's
or that token's own id, would end the run's access for the rest of it: revoking the token
(`DELETE /tokens/{id}`), deactivating the user (`POST /users/{id}/deactivate`, which revokes
every token they hold) and changing the user's role (`PATCH /users/{id}`, after which the
admin-only operations answer 403). Every later request would then be a 401 or 403, and the
run would report operations "answered only 401/403" that it never really exercised.

So a generated request that targets the run's own user or token is sent to an id no row has
(the answer is then the 404 any unknown id gets); every other id, other users' and other
tokens', goes through as generated, so these operations are fuzzed like the rest. The ids
come from the environment (`FUZZ_OWN_USER_ID`, `FUZZ_OWN_TOKEN_ID`), which api-fuzz.sh sets
per role from `python -m tests.support.fuzz_hooks whoami URL TOKEN`.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

import schemathesis

NO_SUCH_ID = 2_147_483_647  # the largest id PostgreSQL's integer holds; never reached here

# (method, path ending, path parameter, environment variable naming the run's own id)
SELF_REVOKING = (
    ("DELETE", "/tokens/{token_id}", "token_id", "FUZZ_OWN_TOKEN_ID"),
    ("POST", "/users/{user_id}/deactivate", "user_id", "FUZZ_OWN_USER_ID"),
    ("PATCH", "/users/{user_id}", "user_id", "FUZZ_OWN_USER_ID"),
)


def redirected(method: str, path: str, path_parameters: dict | None) -> dict | None:
    """The path parameters to send instead, or None when the request may go as generated."""
    for guarded_method, ending, name, variable in SELF_REVOKING:
        own = os.environ.get(variable)
        if method.upper() != guarded_method or not path.endswith(ending) or not own:
            continue
        value = (path_parameters or {}).get(name)
        if value is not None and str(value).strip() == own:
            return {**path_parameters, name: NO_SUCH_ID}
    return None


@schemathesis.hook
def before_call(context, case, kwargs):
    replacement = redirected(case.method, case.operation.path, case.path_parameters)
    if replacement is not None:
        case.path_parameters = replacement


def whoami(base_url: str, token: str) -> tuple[int, int]:
    """(user id, token id) of the token's holder, read through the API itself."""

    def get(path: str):
        request = urllib.request.Request(
            base_url.rstrip("/") + path, headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    user_id = get("/api/v1/me")["id"]
    prefixes = [t for t in get("/api/v1/tokens") if token.startswith(t["prefix"])]
    assert len(prefixes) == 1, f"expected one token matching the run's, found {prefixes}"
    return user_id, prefixes[0]["id"]


if __name__ == "__main__":  # python -m tests.support.fuzz_hooks whoami URL TOKEN
    if sys.argv[1:2] != ["whoami"] or len(sys.argv) != 4:
        sys.exit("usage: python -m tests.support.fuzz_hooks whoami BASE_URL TOKEN")
    print(*whoami(sys.argv[2], sys.argv[3]))
