"""The CLI fuzz keeps its own credentials (tests/support/fuzz_hooks.py, scripts/api-fuzz.sh).

A generated request aimed at the run's own token or user is sent to an unknown id; any
other id goes through as generated, so the guarded operations are still fuzzed.
"""

from __future__ import annotations

import pytest

from tests.support.fuzz_hooks import NO_SUCH_ID, redirected


@pytest.fixture(autouse=True)
def own_ids(monkeypatch):
    monkeypatch.setenv("FUZZ_OWN_USER_ID", "7")
    monkeypatch.setenv("FUZZ_OWN_TOKEN_ID", "3")


@pytest.mark.parametrize(
    ("method", "path", "parameters"),
    [
        ("DELETE", "/api/v1/tokens/{token_id}", {"token_id": 3}),
        ("delete", "/api/v1/tokens/{token_id}", {"token_id": "3"}),
        ("POST", "/api/v1/users/{user_id}/deactivate", {"user_id": 7}),
        ("PATCH", "/api/v1/users/{user_id}", {"user_id": 7}),
    ],
)
def test_a_request_that_would_end_the_runs_own_access_goes_to_an_unknown_id(
    method, path, parameters
):
    (name,) = parameters
    assert redirected(method, path, parameters) == {name: NO_SUCH_ID}


@pytest.mark.parametrize(
    ("method", "path", "parameters"),
    [
        ("DELETE", "/api/v1/tokens/{token_id}", {"token_id": 4}),  # another token
        ("DELETE", "/api/v1/tokens/{token_id}", {"token_id": "x3"}),  # not an id at all
        ("POST", "/api/v1/users/{user_id}/deactivate", {"user_id": 8}),  # another user
        ("POST", "/api/v1/users/{user_id}/reactivate", {"user_id": 7}),  # gives, not takes
        ("GET", "/api/v1/users/{user_id}", {"user_id": 7}),
        ("GET", "/api/v1/tokens/{token_id}", {"token_id": 3}),
        ("PATCH", "/api/v1/users/{user_id}", None),
    ],
)
def test_every_other_request_goes_as_generated(method, path, parameters):
    assert redirected(method, path, parameters) is None


def test_without_the_runs_ids_nothing_is_redirected(monkeypatch):
    monkeypatch.delenv("FUZZ_OWN_TOKEN_ID")
    assert redirected("DELETE", "/api/v1/tokens/{token_id}", {"token_id": 3}) is None
