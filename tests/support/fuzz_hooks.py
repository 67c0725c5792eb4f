"""Schemathesis hooks for the CLI fuzz (scripts/api-fuzz.sh): real ids, and the run keeps its
own credentials.

**Real ids.** Generated path ids are random integers, so almost every request with an id in
its path was a 404 and the code behind a row never ran ("Missing test data: 41 operations
repeatedly returned 404"). Before a role's run, `python -m tests.support.fuzz_hooks prepare`
reads, through the API and as that role, the ids of rows it can see (engagements and, per
engagement, team members, checklist items, milestones, metrics, ingest tokens, change
requests, ADRs, shadows, drills, access entries, artifacts and transition events; users,
providers, webhooks, deliveries, subscriptions and tokens) into a JSON file named by
`FUZZ_REAL_IDS`. Then every other case of an operation with path ids (counted per
operation, so the run stays deterministic) is sent with ids of existing rows instead of the
generated ones; the others keep their random ids, so both the 404 path and the code behind
a row are fuzzed, with every check. Left as generated: a path generated as invalid (the
negative case is about that id), a coverage case about a path parameter (its boundary value
is the point), the stateful phase (its ids come from the responses it follows), and an
operation one of whose ids names a kind the role sees no row of. When a path has an
engagement's id and a child's (`/engagements/{engagement_id}/transitions/{event}`) or two
children's (`/milestones/{milestone_id}/targets/{metric_id}`), they come from one engagement.

**Own credentials.** The fuzz authenticates as one user with one API token. Three
operations, given that user's or that token's own id, would end the run's access for the
rest of it: revoking the token (`DELETE /tokens/{id}`), deactivating the user
(`POST /users/{id}/deactivate`, which revokes every token they hold) and changing the
user's role (`PATCH /users/{id}`, after which the admin-only operations answer 403). Every
later request would then be a 401 or 403, and the run would report operations "answered
only 401/403" that it never really exercised. So a request that targets the run's own user
or token is sent to an id no row has (the answer is then the 404 any unknown id gets);
every other id goes through, so these operations are fuzzed like the rest. The own ids are
in the same file (`prepare` finds them) or in `FUZZ_OWN_USER_ID` / `FUZZ_OWN_TOKEN_ID`; the
real ids never include them.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections import Counter
from functools import cache

import schemathesis

NO_SUCH_ID = 2_147_483_647  # the largest id PostgreSQL's integer holds; never reached here
ROWS_PER_KIND = 3  # real ids kept per kind and engagement: enough to survive a DELETE or two

# (method, path ending, path parameter, key of the run's own id)
SELF_REVOKING = (
    ("DELETE", "/tokens/{token_id}", "token_id", "own_token"),
    ("POST", "/users/{user_id}/deactivate", "user_id", "own_user"),
    ("PATCH", "/users/{user_id}", "user_id", "own_user"),
)
OWN_ID_VARIABLES = {"own_token": "FUZZ_OWN_TOKEN_ID", "own_user": "FUZZ_OWN_USER_ID"}

# A path parameter's kind is the path segment before it; these segments list another kind.
KIND_OF_SEGMENT = {"targets": "metrics"}
# Lists read per engagement: the path under /engagements/{id}/, the kind its rows are, the field.
ENGAGEMENT_LISTS = (
    ("team", "team-members", "id"),
    ("checklist", "checklist-items", "id"),
    ("milestones", "milestones", "id"),
    ("metrics", "metrics", "id"),
    ("ingest-tokens", "ingest-tokens", "id"),
    ("change-requests", "change-requests", "id"),
    ("adrs", "adrs", "id"),
    ("shadows", "shadows", "id"),
    ("drills", "drills", "id"),
    ("access", "access", "id"),
    ("artifacts", "artifacts", "id"),
    ("transitions", "transitions", "event"),
)
GLOBAL_LISTS = (
    ("/users", "users"),
    ("/providers", "providers"),
    ("/webhooks", "webhooks"),
    ("/subscriptions", "subscriptions"),
    ("/tokens", "tokens"),
)
PARAMETER = re.compile(r"\{(\w+)\}")


def path_kinds(path: str) -> dict[str, str]:
    """{path parameter: kind of row it names}, the kind being the segment before it."""
    kinds = {}
    segments = path.strip("/").split("/")
    for index, segment in enumerate(segments):
        match = PARAMETER.fullmatch(segment)
        if match and index > 0:
            previous = segments[index - 1]
            kinds[match.group(1)] = KIND_OF_SEGMENT.get(previous, previous)
    return kinds


class RealIds:
    """Ids of rows one role can see, as `prepare` wrote them, and the choice of one set per case.

    `engagements` maps each engagement's id to {kind: [ids of its rows]}; `rows` maps the
    other kinds (users, providers, ...) to ids.
    """

    def __init__(self, data: dict):
        self.engagements = {int(key): kinds for key, kinds in data.get("engagements", {}).items()}
        self.rows = data.get("rows", {})
        self.own = {key: data.get(key) for key in OWN_ID_VARIABLES}
        self.calls: Counter[str] = Counter()  # cases seen per operation
        self.used: Counter[str] = Counter()  # cases sent with real ids per operation

    def choose(self, path: str, turn: int) -> dict | None:
        """Real values for every path parameter of `path`, or None if some kind has no row.

        `turn` rotates through the rows, so repeated cases reach different ones."""
        kinds = path_kinds(path)
        if not kinds:
            return None
        child_kinds = {kind for kind in kinds.values() if kind != "engagements"}
        per_engagement = child_kinds & {kind for _, kind, _ in ENGAGEMENT_LISTS}
        chosen: dict = {}
        if "engagements" in kinds.values() or per_engagement:
            homes = [
                engagement
                for engagement, rows in sorted(self.engagements.items())
                if all(rows.get(kind) for kind in per_engagement)
            ]
            if not homes:
                return None
            # each engagement in turn, then the next of its rows: every row is reached
            home, lap = homes[turn % len(homes)], turn // len(homes)
            for name, kind in kinds.items():
                if kind == "engagements":
                    chosen[name] = home
                elif kind in per_engagement:
                    rows = self.engagements[home][kind]
                    chosen[name] = rows[lap % len(rows)]
        for name, kind in kinds.items():
            if name in chosen:
                continue
            rows = self.rows.get(kind)
            if not rows:
                return None
            chosen[name] = rows[turn % len(rows)]
        return chosen


@cache
def real_ids() -> RealIds | None:
    path = os.environ.get("FUZZ_REAL_IDS")
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        return RealIds(json.load(handle))


def own_id(key: str) -> str | None:
    loaded = real_ids()
    if loaded is not None and loaded.own.get(key) is not None:
        return str(loaded.own[key])
    return os.environ.get(OWN_ID_VARIABLES[key])


def redirected(method: str, path: str, path_parameters: dict | None) -> dict | None:
    """The path parameters to send instead, or None when the request may go as generated."""
    for guarded_method, ending, name, key in SELF_REVOKING:
        own = own_id(key)
        if method.upper() != guarded_method or not path.endswith(ending) or not own:
            continue
        value = (path_parameters or {}).get(name)
        if value is not None and str(value).strip() == own:
            return {**path_parameters, name: NO_SUCH_ID}
    return None


def wants_real_ids(case) -> bool:
    """Whether this case's path ids may be swapped for real ones (see the module's docstring)."""
    meta = case.meta
    if meta is None or not case.path_parameters:
        return False
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.generation.meta import CoveragePhaseData, TestPhase

    if meta.phase.name == TestPhase.STATEFUL or meta.is_negative_at(ParameterLocation.PATH):
        return False
    data = meta.phase.data
    return not (
        isinstance(data, CoveragePhaseData) and data.parameter_location == ParameterLocation.PATH
    )


def with_real_ids(case) -> dict | None:
    """The path parameters to send for this case, with real ids every other time, or None."""
    loaded = real_ids()
    if loaded is None or not wants_real_ids(case):
        return None
    label = f"{case.method.upper()} {case.operation.path}"
    loaded.calls[label] += 1
    if loaded.calls[label] % 2:  # the first, third, ... case keeps its generated ids
        return None
    chosen = loaded.choose(case.operation.path, loaded.used[label])
    if chosen is None:
        return None
    loaded.used[label] += 1
    return {**case.path_parameters, **chosen}


@schemathesis.hook
def before_call(context, case, kwargs):
    real = with_real_ids(case)
    if real is not None:
        case.path_parameters = real
        SENT_WITH_REAL_IDS.add(id(case))
    replacement = redirected(case.method, case.operation.path, case.path_parameters)
    if replacement is not None:
        case.path_parameters = replacement


SENT_WITH_REAL_IDS: set[int] = set()  # id() of the cases in flight that carry real ids
# (operation, "real" or "generated", "positive" or "negative", status code) -> responses
ANSWERS: Counter[tuple[str, str, str, int]] = Counter()


@schemathesis.hook
def after_call(context, case, response):
    ids = "real" if id(case) in SENT_WITH_REAL_IDS else "generated"
    SENT_WITH_REAL_IDS.discard(id(case))
    # Only the documented operations: the coverage phase also sends other methods (405).
    documented = case.method.upper() == case.operation.method.upper()
    if documented and case.operation.path_parameters and case.meta is not None:
        label = f"{case.method.upper()} {case.operation.path}"
        ANSWERS[(label, ids, case.meta.generation.mode.value, response.status_code)] += 1


def write_report() -> None:
    """The answers to cases with path ids, per operation, kind of ids and mode, as JSON
    (FUZZ_REAL_IDS_REPORT: {operation: {"real"|"generated": {mode: {status: count}}}})."""
    path = os.environ.get("FUZZ_REAL_IDS_REPORT")
    if not path or not ANSWERS:
        return
    report: dict = {}
    for (label, ids, mode, status), count in sorted(ANSWERS.items()):
        report.setdefault(label, {}).setdefault(ids, {}).setdefault(mode, {})[str(status)] = count
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)


atexit.register(write_report)


def _client(base_url: str, token: str):
    def get(path: str):
        request = urllib.request.Request(
            base_url.rstrip("/") + "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code in (403, 404):  # a list this role may not read: no rows of it
                return None
            raise

    return get


def _items(body) -> list:
    if isinstance(body, dict):
        body = body.get("items")
    return body if isinstance(body, list) else []


def whoami(base_url: str, token: str) -> tuple[int, int]:
    """(user id, token id) of the token's holder, read through the API itself."""
    get = _client(base_url, token)
    user_id = get("/me")["id"]
    prefixes = [t for t in get("/tokens") if token.startswith(t["prefix"])]
    assert len(prefixes) == 1, f"expected one token matching the run's, found {prefixes}"
    return user_id, prefixes[0]["id"]


def prepare(base_url: str, token: str) -> dict:
    """The role's own ids and the ids of rows it can see, read through the API as it."""
    get = _client(base_url, token)
    own_user, own_token = whoami(base_url, token)
    engagements: dict[int, dict[str, list]] = {}
    for engagement in _items(get("/engagements?per_page=100")):
        rows = engagements.setdefault(engagement["id"], {})
        for sub, kind, field in ENGAGEMENT_LISTS:
            found = [item[field] for item in _items(get(f"/engagements/{engagement['id']}/{sub}"))]
            if found:
                rows[kind] = found[:ROWS_PER_KIND]
    rows: dict[str, list] = {}
    for path, kind in GLOBAL_LISTS:
        found = [item["id"] for item in _items(get(path))]
        found = [
            value for value in found if value != {"users": own_user, "tokens": own_token}.get(kind)
        ]
        if found:
            rows[kind] = found[:ROWS_PER_KIND]
    deliveries = []
    for endpoint in rows.get("webhooks", []):
        deliveries += [item["id"] for item in _items(get(f"/webhooks/{endpoint}/deliveries"))]
    if deliveries:
        rows["webhook-deliveries"] = deliveries[:ROWS_PER_KIND]
    return {"own_user": own_user, "own_token": own_token, "engagements": engagements, "rows": rows}


def summary(report: dict) -> tuple[list[str], bool]:
    """Lines saying how far the cases with path ids reached, and whether real ids were used."""
    reached, unreached, without = [], [], []
    real_cases: Counter[str] = Counter()
    for label, answers in sorted(report.items()):
        statuses: Counter[str] = Counter()
        for mode, counts in answers.get("real", {}).items():
            real_cases[mode] += sum(counts.values())
            statuses.update(counts)
        if not statuses:
            without.append(label)
        elif set(statuses) != {"404"}:
            reached.append(label)
        else:
            unreached.append(label)
    lines = [
        f"real ids: {real_cases.total()} cases ({real_cases['positive']} positive, "
        f"{real_cases['negative']} negative); {len(reached)} of {len(report)} operations with "
        "path ids answered a real-id case other than 404",
        f"  every real-id case a 404 ({len(unreached)}): {', '.join(unreached) or '-'}",
        f"  no row of a kind in its path ({len(without)}): {', '.join(without) or '-'}",
    ]
    return lines, real_cases.total() > 0


if __name__ == "__main__":
    # python -m tests.support.fuzz_hooks whoami URL TOKEN
    # python -m tests.support.fuzz_hooks prepare URL TOKEN FILE
    # python -m tests.support.fuzz_hooks summary REPORT
    command = sys.argv[1:2]
    if command == ["whoami"] and len(sys.argv) == 4:
        print(*whoami(sys.argv[2], sys.argv[3]))
    elif command == ["prepare"] and len(sys.argv) == 5:
        with open(sys.argv[4], "w", encoding="utf-8") as handle:
            json.dump(prepare(sys.argv[2], sys.argv[3]), handle)
    elif command == ["summary"] and len(sys.argv) == 3:
        # python -m tests.support.fuzz_hooks summary REPORT: fails when no case had real ids
        with open(sys.argv[2], encoding="utf-8") as handle:
            lines, used = summary(json.load(handle))
        print("\n".join(lines))
        if not used:
            sys.exit("no case was sent with real ids: is FUZZ_REAL_IDS set and its file full?")
    else:
        sys.exit(
            "usage: python -m tests.support.fuzz_hooks whoami BASE_URL TOKEN\n"
            "       python -m tests.support.fuzz_hooks prepare BASE_URL TOKEN FILE\n"
            "       python -m tests.support.fuzz_hooks summary REPORT"
        )
