"""Loading and validating definition files: shipped files pass, every broken kind is named."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from tests.workflows.workflow_facts import MINIMAL
from workflows import ACTIONS, DEFINITIONS_DIR, GUARDS, InvalidDefinition, load_definition


@pytest.mark.parametrize("path", sorted(DEFINITIONS_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_definition_validates(path):
    definition = load_definition(path)
    assert definition.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert definition.initial_state == "discovery"
    assert definition.final_states == ("closed",)


def test_minimal_definition_loads(tmp_path):
    path = tmp_path / "staff.toml"
    path.write_text(MINIMAL)
    definition = load_definition(path)
    assert definition.name == "mini" and definition.version == 1
    assert [t.event for t in definition.transitions_from("b")] == ["finish"]


def errors_for(tmp_path, text: str) -> list[str]:
    """The errors loading `text` as staff.toml reports (fails if it loads)."""
    path = tmp_path / "staff.toml"
    path.write_text(text)
    with pytest.raises(InvalidDefinition) as caught:
        load_definition(path)
    return caught.value.errors


def edit(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new, 1)


GO = 'event = "go"\nfrom = "a"\nto = "b"\nroles = ["manager"]'
BROKEN = {
    "toml_syntax": (MINIMAL + "\nname = \n", "staff.toml: invalid TOML"),
    "missing_name": (edit('name = "mini"\n', ""), "staff.toml: name: missing"),
    "missing_version": (edit("version = 1\n", ""), "staff.toml: version: missing"),
    "no_initial": (edit("initial = true", ""), "staff.toml: states: no initial state"),
    "several_initial": (
        edit("[states.b]", "[states.b]\ninitial = true"),
        "staff.toml: states: several initial states (a, b)",
    ),
    "unknown_guard": (
        edit(GO, GO + '\nguards = ["periodd_milestones_final"]'),
        "staff.toml: transitions[0] (go): unknown guard 'periodd_milestones_final'",
    ),
    "unknown_action": (
        edit(GO, GO + '\nactions = ["send_flowers"]'),
        "staff.toml: transitions[0] (go): actions[0]: unknown action 'send_flowers'",
    ),
    "bad_guard_params": (
        edit(GO, GO + '\nguards = [{ name = "team_min", count = "two", size = 3 }]'),
        "staff.toml: transitions[0] (go): guard 'team_min': parameter 'count' must be an integer",
    ),
    "unknown_guard_param": (
        edit(GO, GO + '\nguards = [{ name = "team_min", size = 3 }]'),
        "staff.toml: transitions[0] (go): guard 'team_min': unknown parameter 'size'",
    ),
    "missing_guard_param": (
        edit(GO, GO + '\nguards = ["checklist_complete"]'),
        "staff.toml: transitions[0] (go): guard 'checklist_complete': missing parameter 'kind'",
    ),
    "bad_action_params": (
        edit(GO, GO + '\nactions = [{ name = "set_outcome", outcome = "won" }]'),
        "transitions[0] (go): actions[0]: action 'set_outcome': parameter 'outcome' must be one of",
    ),
    "undeclared_input_reference": (
        edit(GO, GO + '\nactions = [{ name = "record_reason", text = "$input.why" }]'),
        "refers to input 'why' which this transition does not declare",
    ),
    "unknown_state_in_transition": (
        edit('to = "b"', 'to = "bee"'),
        "staff.toml: transitions[0] (go): unknown target state 'bee'",
    ),
    "unknown_source_state": (
        edit('from = "a"', 'from = ["a", "zed"]'),
        "staff.toml: transitions[0] (go): unknown source state 'zed'",
    ),
    "unreachable_state": (
        MINIMAL + '\n[states.orphan]\n\n[[transitions]]\nevent = "x"\nfrom = "orphan"\n'
        'to = "done"\nroles = ["admin"]\n',
        "staff.toml: states.orphan: unreachable from the initial state 'a'",
    ),
    "non_final_without_way_out": (
        MINIMAL + '\n[states.stuck]\n\n[[transitions]]\nevent = "y"\nfrom = "a"\n'
        'to = "stuck"\nroles = ["admin"]\n',
        "staff.toml: states.stuck: non-final state has no way out",
    ),
    "final_with_way_out": (
        MINIMAL
        + '\n[[transitions]]\nevent = "reopen"\nfrom = "done"\nto = "a"\nroles = ["admin"]\n',
        "staff.toml: states.done: final state has a way out: transitions[2] (reopen)",
    ),
    "duplicate_event": (
        MINIMAL + '\n[[transitions]]\nevent = "go"\nfrom = "a"\nto = "done"\nroles = ["admin"]\n',
        "staff.toml: transitions[2] (go): duplicate event 'go' from state 'a'",
    ),
    "bad_timer_expression": (
        edit('at = "period_end"', 'at = "period_end - 7 days"'),
        "staff.toml: states.b.timers[0]: bad offset expression 'period_end - 7 days'",
    ),
    "unknown_timer_date": (
        edit('at = "period_end"', 'at = "contract_end"'),
        "staff.toml: states.b.timers[0]: unknown date 'contract_end'",
    ),
    "timer_event_not_out_of_state": (
        edit('event = "finish", at', 'event = "go", at'),
        "staff.toml: states.b.timers[0]: event 'go' is not a transition out of 'b'",
    ),
    "timer_event_not_for_system": (
        edit('roles = ["manager", "system"]', 'roles = ["manager"]'),
        "staff.toml: states.b.timers[0]: event 'finish' cannot be fired by the scheduler",
    ),
    "unknown_role": (
        edit('roles = ["manager"]', 'roles = ["boss"]'),
        "staff.toml: transitions[0] (go): unknown role 'boss'",
    ),
    "bad_input": (
        edit(GO, GO + '\ninputs = [{ name = "months", type = "int", min = 12, max = 3 }]'),
        "staff.toml: transitions[0] (go): inputs[0]: 'min' is greater than 'max'",
    ),
    "bad_reminder_duration": (
        MINIMAL + '\n[[reminders]]\nname = "soon"\nsubject = "milestone"\nbefore_due = "7 days"\n'
        'to = ["provider"]\n',
        "staff.toml: reminders[0] (soon): bad duration '7 days'",
    ),
    "bad_reminder_recipient": (
        MINIMAL + '\n[[reminders]]\nname = "soon"\nsubject = "milestone"\nbefore_due = "7d"\n'
        'to = ["item_owner"]\n',
        "staff.toml: reminders[0] (soon): 'item_owner' only applies to checklist reminders",
    ),
    "unknown_fact": (
        MINIMAL + '\n[[checklist]]\nkey = "technical_contact"\nfact = "contact_namd"\n',
        "staff.toml: checklist[0] (technical_contact): unknown fact 'contact_namd'",
    ),
    "fact_missing_parameter": (
        MINIMAL + '\n[[checklist]]\nkey = "recordings"\nfact = { name = "artifact_present" }\n',
        "staff.toml: checklist[0] (recordings): fact 'artifact_present': missing parameter 'kind'",
    ),
    "key_bound_twice": (
        MINIMAL
        + '\n[[checklist]]\nkey = "k"\nfact = "team_has_member"\n'
        + '\n[[checklist]]\nkey = "k"\nfact = "team_has_member"\n',
        "staff.toml: checklist[1] (k): key 'k' is bound more than once",
    ),
    "guard_reads_an_undeclared_input": (
        edit(GO, GO + '\nguards = ["early_review_needs_reason"]'),
        "staff.toml: transitions[0] (go): guard 'early_review_needs_reason' reads text input "
        "'reason': declare it",
    ),
    "typo_in_key": (
        edit(GO, GO + '\ngaurds = ["no_proposed_adrs"]'),
        "staff.toml: transitions[0] (go): unknown key 'gaurds'",
    ),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_definition_names_file_and_entry(tmp_path, kind):
    text, expected = BROKEN[kind]
    errors = errors_for(tmp_path, text)
    assert any(expected in error for error in errors), errors


def test_loading_collects_every_error_not_only_the_first(tmp_path):
    text = edit(GO, GO + '\nguards = ["nope"]\nactions = ["nada"]').replace(
        'at = "period_end"', 'at = "soon"'
    )
    errors = errors_for(tmp_path.joinpath(), text.replace("initial = true", ""))
    assert len(errors) == 4, errors
    assert all(error.startswith("staff.toml: ") for error in errors)


def test_wildcard_from_covers_every_non_final_state(catalog):
    terminate = next(
        t for t in catalog.get("staff_augmentation").transitions if t.event == "terminate"
    )
    assert terminate.from_any
    assert set(terminate.from_states) == {
        "discovery",
        "trial",
        "milestone_review",
        "extension",
        "knowledge_transfer",
        "on_hold",  # a hold can be ended by terminating the engagement
    }
    hold = next(
        t for t in catalog.get("staff_augmentation").transitions if t.event == "put_on_hold"
    )
    # Into a hold, "*" means every running state: never the hold itself.
    assert set(hold.from_states) == set(terminate.from_states) - {"on_hold"}


def test_reminder_rules_are_parsed_with_signed_offsets(catalog):
    rules = {r.name: r for r in catalog.get("staff_augmentation").reminders}
    assert rules["milestone_due_soon"].offset == timedelta(days=-7)
    assert rules["milestone_due_soon"].anchor == "due_date"
    overdue = rules["milestone_overdue"]
    assert (overdue.offset, overdue.repeat_every) == (timedelta(0), timedelta(days=3))
    assert overdue.recipients == ("provider", "owner") and overdue.until == "final_status"
    assert rules["checklist_due"].recipients == ("item_owner",)
    assert "closed" not in rules["checklist_due"].states
    trial = rules["trial_ending"]
    assert (trial.anchor, trial.offset, trial.states) == ("trial_end", timedelta(-7), ("trial",))


def test_registries_document_every_entry():
    assert {"checklist_complete", "team_min", "shadows_signed_off"} <= set(GUARDS)
    assert {"set_trial_window", "create_milestones", "start_extension"} <= set(ACTIONS)
    assert all(g.description for g in GUARDS.values())
    assert all(a.description for a in ACTIONS.values())


def test_checklist_bindings_are_parsed_with_their_facts(catalog):
    bindings = catalog.get("staff_augmentation").bindings
    assert bindings["technical_contact"].name == "technical_contact_named"
    assert bindings["problem_statement"].fix == "engagement_edit"
    assert dict(bindings["recordings"].params) == {"kind": "recording"}
    assert "data_access" not in bindings  # stays a manual item


HOLD = """
[states.held]
phase = "paused"

[[transitions]]
event = "hold"
from = "*"
to = "held"
roles = ["manager"]

[[transitions]]
event = "resume"
from = "held"
to = "$previous"
roles = ["manager"]
"""


def test_a_hold_and_its_history_transition_load(tmp_path):
    path = tmp_path / "mini.toml"
    path.write_text(MINIMAL + HOLD)
    definition = load_definition(path)
    hold = definition.find_transition("a", "hold")
    resume = definition.find_transition("held", "resume")
    assert set(hold.from_states) == {"a", "b"} and resume.history
    assert definition.returns_to(resume) == ("a", "b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            MINIMAL
            + HOLD.replace('from = "held"\nto = "$previous"', 'from = "a"\nto = "$previous"'),
            'staff.toml: transitions[3] (resume): a history transition (to = "$previous") '
            "must leave a paused state, not a",
        ),
        (
            MINIMAL + HOLD.replace('to = "$previous"', 'to = "a"'),
            "staff.toml: states.held: a paused state needs a history transition out",
        ),
        (
            MINIMAL
            + HOLD
            + '\n[states.frozen]\nphase = "paused"\n\n[[transitions]]\nevent = "freeze"\n'
            'from = "held"\nto = "frozen"\nroles = ["manager"]\n\n[[transitions]]\n'
            'event = "thaw"\nfrom = "frozen"\nto = "$previous"\nroles = ["manager"]\n',
            "staff.toml: transitions[4] (freeze): a hold is entered from running states, "
            "not from paused 'held'",
        ),
        (
            MINIMAL + HOLD.replace('to = "held"', 'to = "done"'),
            "staff.toml: states.held: unreachable from the initial state 'a'",
        ),
    ],
)
def test_broken_holds_are_refused_at_load(tmp_path, text, message):
    assert any(error.startswith(message) for error in errors_for(tmp_path, text)), errors_for(
        tmp_path, text
    )


def test_reminders_without_states_skip_a_hold(catalog):
    definition = catalog.get("staff_augmentation")
    rules = {r.name: r for r in definition.reminders}
    assert "on_hold" not in rules["checklist_due"].states
    assert rules["hold_past_expected_resume"].states == ("on_hold",)
    assert rules["hold_past_expected_resume"].anchor == "expected_resume"
