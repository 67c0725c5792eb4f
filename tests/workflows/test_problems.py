"""Load-time problems (workflows/problems.py): kept in order, each naming file and entry."""

from __future__ import annotations

from workflows.problems import Problems


def test_problems_keep_their_order_and_name_the_file_and_the_entry():
    problems = Problems("staff.v4.toml")
    assert not problems and problems.messages == []
    problems.add("states", "no initial state")
    problems.add("transitions[3] (extend)", "unknown guard 'x'")
    assert problems
    assert problems.messages == [
        "staff.v4.toml: states: no initial state",
        "staff.v4.toml: transitions[3] (extend): unknown guard 'x'",
    ]
