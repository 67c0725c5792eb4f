"""The CLI fuzz's hooks (tests/support/fuzz_hooks.py, scripts/api-fuzz.sh).

Every other case of an operation with path ids goes with ids of rows the role can see,
taken from one engagement when the path names several; a case about the path ids keeps
them. A generated request aimed at the run's own token or user is sent to an unknown id;
any other id goes through as generated, so the guarded operations are still fuzzed.
"""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace

import pytest
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario, TestPhase

from tests.support import fuzz_hooks
from tests.support.fuzz_hooks import (
    NO_SUCH_ID,
    RealIds,
    path_kinds,
    real_ids,
    redirected,
    summary,
    with_real_ids,
)


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


# Real ids (the CLI fuzz reaches the code behind existing rows) --------------------------

IDS = {
    "own_user": 1,
    "own_token": 1,
    "engagements": {
        "3": {"milestones": [7, 8], "transitions": ["begin_review"]},
        "5": {"milestones": [13], "metrics": [14, 15], "transitions": ["extend"]},
    },
    "rows": {"users": [8, 2], "providers": [1]},
}


@pytest.mark.parametrize(
    ("path", "kinds"),
    [
        ("/api/v1/engagements/{engagement_id}", {"engagement_id": "engagements"}),
        ("/api/v1/tokens/{token_id}", {"token_id": "tokens"}),
        ("/api/v1/ingest-tokens/{token_id}", {"token_id": "ingest-tokens"}),
        ("/api/v1/shadows/{shadow_id}/drills", {"shadow_id": "shadows"}),
        (
            "/api/v1/milestones/{milestone_id}/targets/{metric_id}",
            {"milestone_id": "milestones", "metric_id": "metrics"},
        ),
        (
            "/api/v1/engagements/{engagement_id}/transitions/{event}",
            {"engagement_id": "engagements", "event": "transitions"},
        ),
        ("/api/v1/engagements", {}),
    ],
)
def test_a_path_parameter_names_the_kind_of_the_segment_before_it(path, kinds):
    assert path_kinds(path) == kinds


def test_ids_in_one_path_come_from_one_engagement():
    ids = RealIds(IDS)
    path = "/api/v1/milestones/{milestone_id}/targets/{metric_id}"
    # only engagement 5 has metrics: its milestone goes with its metric
    assert ids.choose(path, 0) == {"milestone_id": 13, "metric_id": 14}
    assert ids.choose(path, 1) == {"milestone_id": 13, "metric_id": 15}
    event = "/api/v1/engagements/{engagement_id}/transitions/{event}"
    assert ids.choose(event, 0) == {"engagement_id": 3, "event": "begin_review"}
    assert ids.choose(event, 1) == {"engagement_id": 5, "event": "extend"}


def test_turns_rotate_through_the_rows_and_an_unseen_kind_gives_none():
    ids = RealIds(IDS)
    assert [ids.choose("/api/v1/users/{user_id}", turn) for turn in range(3)] == [
        {"user_id": 8},
        {"user_id": 2},
        {"user_id": 8},
    ]
    milestones = [ids.choose("/api/v1/milestones/{milestone_id}", turn) for turn in range(4)]
    assert [chosen["milestone_id"] for chosen in milestones] == [7, 13, 8, 13]
    assert ids.choose("/api/v1/webhooks/{endpoint_id}", 0) is None
    assert ids.choose("/api/v1/engagements/{engagement_id}/drills", 0) == {"engagement_id": 3}
    assert ids.choose("/api/v1/drills/{drill_id}/comments", 0) is None


def _case(path, parameters, phase=TestPhase.FUZZING, negative_path=False, data=None):
    meta = SimpleNamespace(
        phase=SimpleNamespace(name=phase, data=data),
        is_negative_at=lambda location: negative_path and location == ParameterLocation.PATH,
    )
    return SimpleNamespace(
        method="GET", operation=SimpleNamespace(path=path), path_parameters=parameters, meta=meta
    )


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    path = tmp_path / "ids.json"
    path.write_text(json.dumps(IDS))
    monkeypatch.setenv("FUZZ_REAL_IDS", str(path))
    real_ids.cache_clear()
    yield real_ids()
    real_ids.cache_clear()


def test_every_other_case_of_an_operation_goes_with_real_ids(loaded):
    path = "/api/v1/milestones/{milestone_id}"
    sent = [with_real_ids(_case(path, {"milestone_id": 99})) for _ in range(6)]
    assert [None if ids is None else ids["milestone_id"] for ids in sent] == [
        None,
        7,
        None,
        13,
        None,
        8,
    ]
    # counted per operation: another operation starts with generated ids again
    assert with_real_ids(_case("/api/v1/users/{user_id}", {"user_id": 99})) is None
    assert with_real_ids(_case("/api/v1/users/{user_id}", {"user_id": 99})) == {"user_id": 8}


@pytest.mark.parametrize(
    "case",
    [
        _case("/api/v1/milestones/{milestone_id}", {"milestone_id": "x"}, negative_path=True),
        _case("/api/v1/milestones/{milestone_id}", {"milestone_id": 99}, TestPhase.STATEFUL),
        _case(
            "/api/v1/milestones/{milestone_id}",
            {"milestone_id": 1},
            TestPhase.COVERAGE,
            data=CoveragePhaseData(
                scenario=CoverageScenario.MINIMUM_VALUE,
                description="minimum",
                location="path",
                parameter="milestone_id",
                parameter_location=ParameterLocation.PATH,
            ),
        ),
        _case("/api/v1/engagements", {}),
    ],
    ids=["invalid path id", "stateful", "coverage of the path id", "no path ids"],
)
def test_cases_about_the_path_ids_keep_them(loaded, case):
    for _ in range(4):
        assert with_real_ids(case) is None


def test_a_coverage_case_about_the_body_gets_real_ids(loaded):
    data = CoveragePhaseData(
        scenario=CoverageScenario.MINIMUM_VALUE,
        description="minimum",
        location="body",
        parameter="title",
        parameter_location=ParameterLocation.BODY,
    )
    path = "/api/v1/milestones/{milestone_id}"
    sent = [
        with_real_ids(_case(path, {"milestone_id": 99}, TestPhase.COVERAGE, data=data))
        for _ in range(2)
    ]
    assert sent == [None, {"milestone_id": 7}]


def test_the_runs_own_ids_come_from_the_file(loaded, monkeypatch):
    monkeypatch.delenv("FUZZ_OWN_USER_ID")
    assert redirected("PATCH", "/api/v1/users/{user_id}", {"user_id": 1}) == {"user_id": NO_SUCH_ID}
    assert redirected("PATCH", "/api/v1/users/{user_id}", {"user_id": 7}) is None


def test_the_summary_says_which_operations_reached_a_row():
    lines, used = summary(
        {
            "GET /api/v1/milestones/{milestone_id}": {
                "generated": {"positive": {"404": 5}},
                "real": {"positive": {"200": 3, "404": 1}, "negative": {"422": 1}},
            },
            "DELETE /api/v1/artifacts/{artifact_id}": {
                "generated": {"negative": {"404": 3}},
                "real": {"positive": {"404": 2}},
            },
            "GET /api/v1/webhooks/{endpoint_id}": {"generated": {"positive": {"404": 6}}},
        }
    )
    assert lines[0].startswith("real ids: 7 cases (6 positive, 1 negative); 1 of 3 operations")
    assert "DELETE /api/v1/artifacts/{artifact_id}" in lines[1]
    assert "GET /api/v1/webhooks/{endpoint_id}" in lines[2]
    assert used
    assert summary({"GET /api/v1/x/{x_id}": {"generated": {"positive": {"404": 1}}}})[1] is False


def test_the_report_counts_answers_per_operation_ids_and_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(fuzz_hooks, "ANSWERS", Counter())
    monkeypatch.setenv("FUZZ_REAL_IDS_REPORT", str(tmp_path / "answers.json"))

    def answered(method, mode, status, real=False):
        case = SimpleNamespace(
            method=method,
            operation=SimpleNamespace(
                method="patch", path="/api/v1/milestones/{milestone_id}", path_parameters=[1]
            ),
            meta=SimpleNamespace(generation=SimpleNamespace(mode=SimpleNamespace(value=mode))),
        )
        if real:
            fuzz_hooks.SENT_WITH_REAL_IDS.add(id(case))
        fuzz_hooks.after_call(None, case, SimpleNamespace(status_code=status))

    answered("PATCH", "positive", 200, real=True)
    answered("PATCH", "positive", 404)
    answered("PATCH", "negative", 422, real=True)
    answered("TRACE", "negative", 405)  # a method the operation does not have: not counted
    fuzz_hooks.write_report()
    report = json.loads((tmp_path / "answers.json").read_text())
    assert report == {
        "PATCH /api/v1/milestones/{milestone_id}": {
            "real": {"positive": {"200": 1}, "negative": {"422": 1}},
            "generated": {"positive": {"404": 1}},
        }
    }
    assert not fuzz_hooks.SENT_WITH_REAL_IDS
