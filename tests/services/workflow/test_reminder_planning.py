"""Reminder rows are planned in the unit of work that changes the data, and re-planned on change."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine.default import CACHE_HIT

from tests.support.scheduler import T0, add_milestone, at, frozen, reminders_for, trial_engagement
from tracker.extensions import db
from tracker.models import ChecklistItem, Milestone, Reminder
from tracker.services import derived
from tracker.services.core.transactions import commit_and_derive
from tracker.services.judgments.health import refresh_health
from tracker.services.workflow import reminder_planning as planning

# On PostgreSQL too (ADR 0216): ON CONFLICT DO NOTHING and PostgreSQL's parameter limit.
pytestmark = pytest.mark.postgres

TODAY = T0.date()


def test_new_milestone_gets_one_pending_row_per_rule(app, ctx):
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    milestone = add_milestone(engagement, TODAY + timedelta(days=20))
    rows = reminders_for("milestone", milestone.id, "pending")
    assert [(r.rule, r.due_at) for r in rows] == [
        ("milestone_due_soon", at(TODAY + timedelta(days=13))),
        ("milestone_due_tomorrow", at(TODAY + timedelta(days=19))),
        ("milestone_overdue", at(TODAY + timedelta(days=20))),
    ]
    assert rows[0].key == f"milestone_due_soon:milestone:{milestone.id}:20260315T0800Z"


def test_reminder_rows_commit_with_their_change_or_not_at_all(app, ctx, monkeypatch):
    """Re-planned by the unit of work's commit step, in its transaction: a unit of work
    that fails after the reminders were re-planned leaves the old rows as they were."""
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    milestone_id = add_milestone(engagement, TODAY + timedelta(days=20)).id
    moved, first = at(TODAY + timedelta(days=30)), at(TODAY + timedelta(days=20))

    def broken(ids, *, now=None):
        raise RuntimeError("a later step failed")

    steps = derived.COMMIT_STEPS
    assert steps.index(_step(planning.replan_touched)) < steps.index(_step(refresh_health))
    failing = tuple(replace(s, step=broken) if s.step is refresh_health else s for s in steps)
    monkeypatch.setattr(derived, "COMMIT_STEPS", failing)
    db.session.get(Milestone, milestone_id).due_date = TODAY + timedelta(days=30)
    with pytest.raises(RuntimeError, match="a later step failed"):
        commit_and_derive()
    dues = {r.due_at for r in reminders_for("milestone", milestone_id, "pending")}
    assert moved not in dues and first in dues

    monkeypatch.undo()
    db.session.get(Milestone, milestone_id).due_date = TODAY + timedelta(days=30)
    commit_and_derive()
    dues = {r.due_at for r in reminders_for("milestone", milestone_id, "pending")}
    assert moved in dues and first not in dues


def test_a_unit_of_work_that_flushes_often_plans_once_from_its_final_rows(app, ctx):
    """A due date moved twice in one unit of work, flushed each time: one set of rows,
    for the final date, and no row planned for the date in between."""
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    milestone = add_milestone(engagement, TODAY + timedelta(days=20))
    milestone.due_date = TODAY + timedelta(days=30)
    db.session.flush()
    milestone.due_date = TODAY + timedelta(days=40)
    db.session.flush()
    commit_and_derive()
    everything = reminders_for("milestone", milestone.id)
    assert not any(r.due_at == at(TODAY + timedelta(days=30)) for r in everything)
    pending = reminders_for("milestone", milestone.id, "pending")
    assert {r.due_at for r in pending if r.rule == "milestone_overdue"} == {
        at(TODAY + timedelta(days=40))
    }
    assert len(pending) == 3


def test_a_subject_deleted_after_it_changed_gets_no_new_rows(app, ctx):
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    due = TODAY + timedelta(days=10)
    kept, dropped = (
        ChecklistItem(
            engagement_id=engagement.id,
            kind="prerequisite",
            title=title,
            position=50 + n,
            due_date=due,
        )
        for n, title in enumerate(("Sign the NDA", "Order laptops"))
    )
    db.session.add_all([kept, dropped])
    db.session.flush()  # new items: their reminders are to be planned at the commit
    dropped_id = dropped.id
    db.session.delete(dropped)
    commit_and_derive()
    assert reminders_for("checklist", kept.id, "pending")  # the rules do apply to such items
    assert reminders_for("checklist", dropped_id) == []


def _step(function):
    return next(step for step in derived.COMMIT_STEPS if step.step is function)


def test_moving_the_due_date_cancels_and_replans(app, ctx):
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    milestone = add_milestone(engagement, TODAY + timedelta(days=20))
    milestone.due_date = TODAY + timedelta(days=40)
    db.session.commit()
    pending = reminders_for("milestone", milestone.id, "pending")
    assert {r.due_at for r in pending} == {at(TODAY + timedelta(days=d)) for d in (33, 39, 40)}
    assert len(reminders_for("milestone", milestone.id, "cancelled")) == 3


def test_final_status_cancels_pending_reminders(app, ctx):
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    milestone = add_milestone(engagement, TODAY + timedelta(days=5))
    milestone.status = "met"
    db.session.commit()
    assert reminders_for("milestone", milestone.id, "pending") == []


def test_completing_a_checklist_item_cancels_its_reminders(app, ctx):
    frozen(app)
    engagement, owner, _ = trial_engagement(TODAY)
    item = db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
    ).first()
    item.status, item.due_date = "open", TODAY + timedelta(days=3)
    db.session.commit()
    assert {r.rule for r in reminders_for("checklist", item.id, "pending")} == {
        "checklist_due",
        "checklist_overdue",
    }
    item.status = "done"
    db.session.commit()
    assert reminders_for("checklist", item.id, "pending") == []


def test_overdue_repeating_rule_plans_latest_occurrence_not_a_backlog(app, ctx):
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    milestone = add_milestone(engagement, TODAY - timedelta(days=10))
    rows = reminders_for("milestone", milestone.id, "pending")
    # Due 10 days ago, repeating every 3 days: one row, the occurrence of 9 days after due.
    assert [(r.rule, r.due_at) for r in rows] == [
        ("milestone_overdue", at(TODAY - timedelta(days=1)))
    ]


def test_rules_follow_the_state_leaving_trial_cancels_the_trial_reminder(app, ctx):
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY, trial_day=80)
    assert [r.rule for r in reminders_for("period", engagement.id, "pending")] == ["trial_ending"]
    engagement.state = "knowledge_transfer"
    db.session.commit()
    assert reminders_for("period", engagement.id, "pending") == []


def test_plan_reminders_is_idempotent(app, ctx):
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    add_milestone(engagement, TODAY + timedelta(days=20))
    before = db.session.scalar(select(func.count(Reminder.id)))
    assert planning.plan_reminders(engagement.id) == 0
    db.session.commit()
    assert db.session.scalar(select(func.count(Reminder.id))) == before


def test_a_milestone_due_date_edited_by_the_service_fires_once_at_the_new_instant(app, ctx):
    """In the trial the due date moves by an approved change request (issue 31); its
    reminders follow the same way a direct edit's do."""
    from tests.factories import make_user
    from tracker.scheduling.tick import run_tick
    from tracker.services.change_requests import service

    clock = frozen(app)
    engagement, owner, provider = trial_engagement(TODAY)
    milestone = add_milestone(engagement, TODAY + timedelta(days=3), title="Day-43")
    clock.set(at(TODAY + timedelta(days=2)) + timedelta(minutes=5))
    run_tick()  # "due tomorrow" goes out for the old date
    sent = [r.key for r in reminders_for("milestone", milestone.id, "sent")]
    to = (TODAY + timedelta(days=20)).isoformat()
    change = {"target": "milestone", "id": milestone.id, "field": "due_date", "to": to}
    raised = service.raise_request(provider, engagement.id, {"changes": [change], "why": "Late"})
    service.approve(make_user("admin"), raised.id)
    pending = reminders_for("milestone", milestone.id, "pending")
    assert {r.due_at for r in pending} == {at(TODAY + timedelta(days=d)) for d in (13, 19, 20)}
    clock.set(at(TODAY + timedelta(days=3)) + timedelta(minutes=5))  # the old due day
    assert run_tick()["reminders"] == 0
    clock.set(at(TODAY + timedelta(days=13)) + timedelta(minutes=5))
    assert run_tick()["reminders"] == 1
    assert run_tick()["reminders"] == 0
    keys = [r.key for r in reminders_for("milestone", milestone.id, "sent")]
    assert keys[: len(sent)] == sent and len(keys) == len(sent) + 1


def test_a_checklist_due_date_edited_by_the_service_moves_its_reminder(app, ctx):
    from tracker.scheduling.tick import run_tick
    from tracker.services.delivery import checklists

    clock = frozen(app)
    engagement, owner, _ = trial_engagement(TODAY)
    item = db.session.scalars(
        select(ChecklistItem).where(
            ChecklistItem.engagement_id == engagement.id, ChecklistItem.fact.is_(None)
        )
    ).first()
    checklists.update_item(owner, item.id, {"due_date": TODAY + timedelta(days=2)})
    pending = reminders_for("checklist", item.id, "pending")
    assert [(r.rule, r.due_at) for r in pending] == [
        ("checklist_due", at(TODAY + timedelta(days=2))),
        ("checklist_overdue", at(TODAY + timedelta(days=3))),
    ]
    checklists.update_item(owner, item.id, {"due_date": TODAY + timedelta(days=6)})
    pending = reminders_for("checklist", item.id, "pending")
    assert [(r.rule, r.due_at) for r in pending] == [
        ("checklist_due", at(TODAY + timedelta(days=6))),
        ("checklist_overdue", at(TODAY + timedelta(days=7))),
    ]
    clock.set(at(TODAY + timedelta(days=2)) + timedelta(minutes=5))
    assert run_tick()["reminders"] == 0
    clock.set(at(TODAY + timedelta(days=6)) + timedelta(minutes=5))
    assert run_tick()["reminders"] == 1
    assert run_tick()["reminders"] == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_planning_more_than_10000_rows_in_one_call(make_app, backend):
    """One INSERT of 10,002 rows x 8 columns would exceed PostgreSQL's 65,535 parameters."""
    from sqlalchemy import insert

    from tracker.models import Milestone

    app = make_app(backend)
    with app.app_context():
        frozen(app)
        engagement, _, _ = trial_engagement(T0.date())
        due = T0.date() + timedelta(days=30)
        count = 3334  # three rules each: due soon, due tomorrow, overdue
        rows = [
            {"engagement_id": engagement.id, "title": f"M{n}", "due_date": due, "version": 1}
            for n in range(count)
        ]
        db.session.execute(insert(Milestone), rows)
        planned = planning.plan_reminders(engagement.id)
        db.session.commit()
        stored = db.session.scalar(
            select(func.count()).where(
                Reminder.engagement_id == engagement.id,
                Reminder.subject_type == "milestone",
                Reminder.status == "pending",
            )
        )
    assert planned == stored == 3 * count >= 10_000


def _engagement_with_milestones(count: int, due) -> int:
    from sqlalchemy import insert

    from tracker.models import Milestone

    engagement, _, _ = trial_engagement(TODAY)
    rows = [
        {"engagement_id": engagement.id, "title": f"M{n}", "due_date": due, "version": 1}
        for n in range(count)
    ]
    db.session.execute(insert(Milestone), rows)
    planning.plan_reminders(engagement.id)
    db.session.commit()
    return engagement.id


def _replan_statements(app, query_counter, engagement_id: int) -> tuple[int, int]:
    """(statements, rows added) to re-plan after every milestone's due date moved."""
    from sqlalchemy import update

    from tracker.models import Milestone

    db.session.execute(
        update(Milestone)
        .where(Milestone.engagement_id == engagement_id)
        .values(due_date=TODAY + timedelta(days=40))
    )
    db.session.commit()
    with query_counter() as counter:
        added = planning.plan_reminders(engagement_id)
        db.session.commit()
    return counter.count, added


def test_replanning_costs_the_same_statements_for_30_or_600_pending_rows(app, ctx, query_counter):
    """Re-planning is set-based: a fixed number of statements, whatever the row count
    (below one chunk of PARAMETER_LIMIT); it used to compare every rule x target with
    every pending row (quadratic: ~5 minutes at 10,000 rows)."""
    frozen(app)
    small = _engagement_with_milestones(10, TODAY + timedelta(days=30))
    large = _engagement_with_milestones(200, TODAY + timedelta(days=30))
    small_count, small_added = _replan_statements(app, query_counter, small)
    large_count, large_added = _replan_statements(app, query_counter, large)
    cancelled = db.session.scalar(
        select(func.count()).where(Reminder.engagement_id == large, Reminder.status == "cancelled")
    )
    assert (small_added, large_added, cancelled) == (30, 600, 600)
    assert small_count == large_count <= 8


def test_replanning_one_milestone_reads_only_its_rows(app, ctx, query_counter):
    """Moving one milestone re-plans it from its own reminder rows, not the engagement's
    (issue 29: a milestone update reads 3 rows where it read every milestone's), and the
    outcome is the same as before: the old occurrence cancelled, the new one pending."""
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    moved = add_milestone(engagement, TODAY + timedelta(days=20))
    others = [add_milestone(engagement, TODAY + timedelta(days=10 + n)) for n in range(5)]
    moved.due_date = TODAY + timedelta(days=30)
    with query_counter() as counter:
        commit_and_derive()
    reads = [
        s for s in counter.statements if s.lstrip().startswith("SELECT") and "FROM reminder" in s
    ]
    assert len(reads) == 1 and "reminder.subject_id =" in reads[0], reads
    pending = reminders_for("milestone", moved.id, "pending")
    assert [r.due_at for r in pending] == [
        at(TODAY + timedelta(days=23)),
        at(TODAY + timedelta(days=29)),
        at(TODAY + timedelta(days=30)),
    ]
    assert len(reminders_for("milestone", moved.id, "cancelled")) == 3
    for other in others:  # untouched
        assert len(reminders_for("milestone", other.id, "pending")) == 3


def test_the_reminder_insert_is_compiled_once_and_still_skips_a_planned_key(app, ctx):
    """Planning a reminder does not compile its INSERT each time (issue 29: SQLAlchemy
    never caches a dialect's ON CONFLICT insert, and most milestone updates plan one);
    the key already planned is still left alone, and instants are stored as UTCDateTime
    stores them (read back equal, in UTC)."""
    frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    first = add_milestone(engagement, TODAY + timedelta(days=20))
    inserts = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("INSERT INTO reminder"):
            inserts.append(context.cache_hit is CACHE_HIT)

    event.listen(db.engine, "after_cursor_execute", seen)
    try:
        second = add_milestone(engagement, TODAY + timedelta(days=25))
        third = add_milestone(engagement, TODAY + timedelta(days=30))
        row = dict(planning._row("milestone_overdue", engagement.id, "milestone", first.id,
                                 at(TODAY + timedelta(days=20)), T0))  # fmt: skip
        db.session.execute(planning._insert_new_keys(), [row])  # the key is already planned
        db.session.commit()
    finally:
        event.remove(db.engine, "after_cursor_execute", seen)
    assert inserts == [True, True, True]
    assert len(reminders_for("milestone", first.id, "pending")) == 3
    for milestone, due in ((second, 25), (third, 30)):
        rows = reminders_for("milestone", milestone.id, "pending")
        assert [r.due_at for r in rows][-1] == at(TODAY + timedelta(days=due))
        assert rows[-1].due_at.utcoffset() == timedelta(0)
