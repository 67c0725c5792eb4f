"""What the engine answers with (workflows/outcomes.py): options and unmet requirements in
the JSON form the API and the pages read, parsed back with the json module."""

from __future__ import annotations

import json

from workflows.definition import InputSpec
from workflows.outcomes import TransitionOption, Unmet

TEAM = {"kind": "team"}


def test_an_option_serialises_with_its_unmet_requirements_and_inputs():
    unmet = Unmet("team_empty", "The team has no members yet", TEAM)
    option = TransitionOption(
        event="start_trial",
        label="Start the trial",
        to_state="trial",
        allowed=False,
        unmet=(unmet,),
        inputs=(InputSpec("reason", "text", "Why", required=False, max_length=500),),
        roles=("manager", "admin"),
        overridable=True,
        to_label="Trial",
    )
    data = json.loads(json.dumps(option.to_dict()))
    assert data == {
        "event": "start_trial",
        "label": "Start the trial",
        "to_state": "trial",
        "allowed": False,
        "unmet": [
            {
                "code": "team_empty",
                "message": "The team has no members yet",
                "ref": {"kind": "team"},
            }
        ],
        "inputs": [
            {
                "name": "reason",
                "type": "text",
                "label": "Why",
                "required": False,
                "min": None,
                "max": None,
                "max_length": 500,
                "choices": [],
                "help": "",
            }
        ],
        "roles": ["manager", "admin"],
        "overridable": True,
    }
    assert Unmet("x", "y").to_dict() == {"code": "x", "message": "y", "ref": None}
