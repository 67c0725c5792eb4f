"""State meaning comes from the definition: renamed states and a different shape behave alike.

Three definitions run the same story end to end through the services: the
shipped staff_augmentation, the same lifecycle with every state renamed, and a
lifecycle of another shape (two consecutive running periods, a pilot then a
rollout). Each must give the same period progress, health reasons, review
timer, reminders, digest lines, timeline and dashboard row, so no part of the
application can be relying on the default definition's state names.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import add_member, complete_checklist, make_user
from tracker.extensions import db
from tracker.models import Engagement, Milestone, Reminder, Subscription, WorkflowTimer
from tracker.notifications.digest_content import gather, period_text
from tracker.services.delivery import milestones as milestones_service
from tracker.services.judgments import health
from tracker.services.read_model.dashboard import build_dashboard
from tracker.services.read_model.engagement_list import ListQuery
from tracker.services.staffing import engagements
from tracker.services.workflow import lifecycle, transitions
from tracker.services.workflow.timers import fire_due_timers
from tracker.web.support.timeline import timeline_svg
from workflows import DEFINITIONS_DIR
from workflows.meaning import PHASES

SHIPPED = (DEFINITIONS_DIR / "staff_augmentation.toml").read_text(encoding="utf-8")
RENAMES = {
    "discovery": "scoping",
    "trial": "probation",
    "milestone_review": "checkpoint",
    "extension": "continuation",
    "knowledge_transfer": "handoff",
    "closed": "done",
}
SHIPPED_NAMES = tuple(RENAMES)


def renamed_text() -> str:
    """The shipped lifecycle with every state renamed (and its labels, so none leak)."""
    text = SHIPPED.replace('name = "staff_augmentation"', 'name = "renamed_lifecycle"', 1)
    for old, new in RENAMES.items():
        text = text.replace(f"[states.{old}]", f"[states.{new}]")
        text = re.sub(rf'"{old}"', f'"{new}"', text)
    text = text.replace('kind = "handoff"', 'kind = "knowledge_transfer"')  # a checklist kind
    for old, new in (("Discovery", "Scoping"), ("Trial", "Probation")):
        text = text.replace(f'label = "{old}"', f'label = "{new}"')
    return text


TWO_PERIODS = """
name = "pilot_rollout"
version = 1
title = "A pilot, then a rollout"

[states.scoping]
label = "Scoping"
initial = true
phase = "setup"

[states.pilot]
label = "Pilot"
phase = "period"
period = ["trial_start", "trial_end"]
on_enter = [
  { name = "set_trial_window", days = 90 },
  { name = "create_milestones", offsets = [30, 60, 90], anchor = "trial_start" },
]
timers = [{ event = "assess", at = "trial_end" }]

[states.rollout]
label = "Rollout"
phase = "period"
tone = "violet"
on_enter = [
  { name = "start_extension", months = "$input.months" },
  { name = "create_milestones", offsets = [30], anchor = "period_start" },
]
timers = [{ event = "assess", at = "period_end" }]

[states.assessment]
label = "Assessment"
phase = "review"

[states.wrap_up]
label = "Wrap-up"
phase = "wind_down"

[states.finished]
label = "Finished"
final = true

[[transitions]]
event = "begin"
from = "scoping"
to = "pilot"
roles = ["manager", "admin"]

[[transitions]]
event = "roll_out"
from = "pilot"
to = "rollout"
roles = ["manager", "admin"]
inputs = [{ name = "months", type = "int", label = "Months", min = 1, max = 12 }]

[[transitions]]
event = "assess"
from = ["pilot", "rollout"]
to = "assessment"
roles = ["manager", "admin", "system"]

[[transitions]]
event = "wrap"
from = "assessment"
to = "wrap_up"
roles = ["manager", "admin"]

[[transitions]]
event = "finish"
from = "wrap_up"
to = "finished"
roles = ["manager", "admin"]
actions = [{ name = "set_outcome", outcome = "completed" }]

[[reminders]]
name = "milestone_overdue"
subject = "milestone"
after_due = "0d"
repeat_every = "3d"
to = ["provider", "owner"]
states = ["pilot", "rollout", "assessment"]
"""


@pytest.fixture
def lifecycles(make_app, tmp_path: Path):
    """An app whose WORKFLOW_DIR holds the shipped, the renamed and the two-period lifecycles."""
    directory = tmp_path / "definitions"
    directory.mkdir()
    (directory / "staff_augmentation.toml").write_text(SHIPPED, encoding="utf-8")
    (directory / "renamed.toml").write_text(renamed_text(), encoding="utf-8")
    (directory / "pilot_rollout.toml").write_text(TWO_PERIODS, encoding="utf-8")
    app = make_app(WORKFLOW_DIR=str(directory))
    with app.app_context():
        yield app
        db.session.remove()


def _start(workflow: str) -> tuple[Engagement, object]:
    """A new engagement on `workflow`, moved into its first running period today."""
    manager = make_user("manager")
    provider = make_user("provider", provider="Northwind ML")
    engagement = engagements.create_engagement(
        manager,
        {
            "title": f"Story on {workflow}",
            "provider_id": provider.provider_id,
            "structure": "pod_2",
            "owner_id": manager.id,
            "monthly_cost": 30000,
            "workflow_name": workflow,
            "problem_statement": "Forecast demand",
        },
    )
    add_member(engagement, "Mara Quint")
    for kind in ("prerequisite", "placement"):
        complete_checklist(engagement, kind)
    db.session.add(
        Milestone(
            engagement_id=engagement.id,
            title="Baseline agreed",
            due_date=date.today() + timedelta(days=20),
            success_criteria="MAPE below 12%",
        )
    )
    db.session.commit()
    initial = lifecycle.definition_of(engagement).initial_state
    event = lifecycle.definition_of(engagement).transitions_from(initial)[0].event
    transitions.fire(manager, engagement.id, event, {}, expected_version=engagement.version)
    return db.session.get(Engagement, engagement.id), manager


@pytest.mark.parametrize("workflow", ["staff_augmentation", "renamed_lifecycle", "pilot_rollout"])
def test_the_same_story_behaves_alike_whatever_the_states_are_called(lifecycles, workflow):
    engagement, manager = _start(workflow)
    today = date.today()
    state = lifecycle.state_of(engagement)
    assert state.phase == "period"
    if workflow != "staff_augmentation":
        assert state.name not in SHIPPED_NAMES
    label = state.label
    # period progress, on the dashboard and in the digest
    assert lifecycle.period_progress(engagement, today) == (label, 1, 90)
    [row] = build_dashboard(manager, ListQuery(live_only=True)).rows
    assert lifecycle.period_progress(row.engagement, today) == (label, 1, 90)
    assert period_text(engagement, today) == f"Day 1 of 90 of the {label.lower()}"
    # the review timer at the period's end
    timer = db.session.scalars(
        select(WorkflowTimer).where(
            WorkflowTimer.engagement_id == engagement.id, WorkflowTimer.status == "pending"
        )
    ).one()
    assert timer.due_at.astimezone(UTC).date() == engagement.trial_end
    # reminders are planned for the period's milestones
    reminders = db.session.scalars(
        select(Reminder).where(Reminder.engagement_id == engagement.id)
    ).all()
    assert any(r.rule == "milestone_overdue" for r in reminders)
    # the timeline draws the period with the definition's label
    svg = timeline_svg(engagement, list(db.session.scalars(select(Milestone))), today)
    assert f">{label}</text>" in svg
    # health: an on-track milestone gone past its date is amber, with that reason
    # (the story's own milestone: it has no numeric target, so only its date counts)
    late = db.session.scalars(
        select(Milestone).where(
            Milestone.engagement_id == engagement.id, Milestone.title == "Baseline agreed"
        )
    ).one()
    late.due_date, late.status = today - timedelta(days=2), "on_track"
    db.session.commit()
    health.refresh_health([engagement.id])
    db.session.commit()
    assert engagement.health == "amber"
    assert [r["code"] for r in engagement.health_reasons] == ["milestone_overdue"]
    # the digest shows the same: amber, the reason, the overdue line
    subscription = Subscription(user_id=manager.id, scope="all", send_time=time(8))
    db.session.add(subscription)
    db.session.commit()
    now = datetime.now(UTC)
    content = gather(subscription, manager, now - timedelta(days=1), now, today)
    [section] = [s for s in content.engagements if s.id == engagement.id]
    assert section.health == "amber" and section.state_label == label
    assert any("has no verdict" in reason for reason in section.reasons)
    assert any(late.title in line for line in section.overdue)
    # the timer fires at the period's end and moves it into the review phase
    end = datetime.combine(engagement.trial_end, time(1), UTC)
    assert fire_due_timers(end) == 1
    db.session.expire_all()
    moved = db.session.get(Engagement, engagement.id)
    assert lifecycle.phase_of(moved) == "review"
    section = gather(subscription, manager, end - timedelta(days=1), end, end.date()).engagements
    assert any(s.id == moved.id and s.needs_decision for s in section)


@pytest.mark.parametrize(
    ("workflow", "contracted"),
    [("staff_augmentation", True), ("renamed_lifecycle", True), ("pilot_rollout", False)],
)
def test_change_request_rules_follow_the_definition_whatever_the_states_are_called(
    lifecycles, workflow, contracted
):
    """Issue 31: the states that need change requests are the definition's; renamed, they
    still do, and a definition that lists none keeps every edit direct."""
    from tracker.services.change_requests import drift, service
    from tracker.services.change_requests.rules import ChangeRequestRequired

    engagement, manager = _start(workflow)
    admin = make_user("admin")
    milestone = db.session.scalars(
        select(Milestone).where(Milestone.title == "Baseline agreed")
    ).one()
    due = milestone.due_date
    later = {"due_date": due + timedelta(days=30)}
    if not contracted:
        milestones_service.update_milestone(manager, milestone.id, later)
        assert db.session.get(Milestone, milestone.id).due_date == due + timedelta(days=30)
        return
    with pytest.raises(ChangeRequestRequired) as refused:
        milestones_service.update_milestone(manager, milestone.id, later)
    assert set(refused.value.errors) == {"due_date"}
    assert lifecycle.state_of(engagement).label in refused.value.message
    change = {"target": "milestone", "id": milestone.id, "field": "due_date"}
    change["to"] = later["due_date"].isoformat()
    request = service.raise_request(manager, engagement.id, {"changes": [change], "why": "Late"})
    assert request.raised_in_state == engagement.state
    service.approve(admin, request.id)
    assert db.session.get(Milestone, milestone.id).due_date == later["due_date"]
    assert drift.engagement_drift(manager, engagement.id).slip_days == 30
    reasons = db.session.get(Engagement, engagement.id).health_reasons
    assert any(r["code"] == "drift" and f"#{request.id}" in r["message"] for r in reasons)


# -- no module of the application names a shipped definition's states -------------------------

TRACKER = Path(__file__).resolve().parents[2] / "tracker"
DEMO_DATA = ("demo", "scale_data")  # demo data may name the default lifecycle's states


def _shipped_state_names() -> set[str]:
    from tracker.models import ChecklistKind
    from workflows import Catalog

    names = {name for d in Catalog.load(DEFINITIONS_DIR) for name in d.states}
    # "knowledge_transfer" is also a checklist kind, "review" also a phase: words of their own
    return names - {kind.value for kind in ChecklistKind} - set(PHASES)


def test_no_state_name_of_a_shipped_definition_appears_in_the_application():
    names = "|".join(sorted(_shipped_state_names()))
    pattern = re.compile(rf"""["']({names})["']""")
    offenders = []
    for path in sorted(TRACKER.rglob("*")):
        relative = path.relative_to(TRACKER).as_posix()
        if path.suffix not in (".py", ".html", ".css", ".js") or "vendor" in relative:
            continue
        if any(part in relative for part in DEMO_DATA):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
