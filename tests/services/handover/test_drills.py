"""Walk-away drills: who may record them, what a failed one opens, and bad input refused whole."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from tracker.core import clock
from tracker.errors import Forbidden, ValidationFailed
from tracker.extensions import db
from tracker.models import AuditEvent, ChecklistItem, Drill
from tracker.services.handover import drills
from tracker.services.knowledge import shadows


@pytest.fixture
def assignment(kt):
    data = {"member_id": kt.mara.id, "shadow_id": kt.internal.id, "areas": ["serving"]}
    return shadows.assign_shadow(kt.manager, kt.engagement.id, data)


def _drill(kt, **changes) -> dict:
    data = {
        "area": "serving",
        "task": "Roll the model back alone",
        "performed_by_id": kt.internal.id,
        "observed_by_id": kt.manager.id,
        "performed_on": clock.now().date(),
        "outcome": "passed",
        "minutes": 40,
        "missing": "",
        "evidence_url": "https://wiki.example.com/drills/1",
    }
    return data | changes


def _counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(Drill.id))),
        db.session.scalar(select(func.count(ChecklistItem.id))),
    )


def test_a_passed_drill_opens_nothing_and_is_audited(kt, assignment):
    before = _counts()
    drill = drills.record_drill(kt.manager, assignment.id, _drill(kt))
    assert drill.follow_up_item_id is None and drill.recorded_by_id == kt.manager.id
    assert _counts() == (before[0] + 1, before[1])
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "drill_recorded"))
    assert entry.data["area"] == "serving" and entry.data["outcome"] == "passed"


@pytest.mark.parametrize("outcome", ["failed", "partly"])
def test_a_drill_that_did_not_pass_opens_a_follow_up_for_the_shadow(kt, assignment, outcome):
    missing = "The retrain job needs a secret only Mara could read."
    drill = drills.record_drill(
        kt.manager, assignment.id, _drill(kt, outcome=outcome, missing=missing)
    )
    item = db.session.get(ChecklistItem, drill.follow_up_item_id)
    assert item.kind == "knowledge_transfer" and item.status == "open"
    assert item.owner_id == kt.internal.id  # the shadow
    # seven days: `[handover] drill_follow_up_days` of the default definition
    assert item.due_date == clock.now().date() + timedelta(days=7)
    assert "Roll the model back alone (serving)" in item.title and item.note == missing


def test_the_shadow_records_their_own_drill(kt, assignment):
    drill = drills.record_drill(kt.internal, assignment.id, _drill(kt))
    assert drill.recorded_by_id == kt.internal.id


def test_providers_comment_on_drills_but_never_record_them(kt, assignment):
    drill = drills.record_drill(kt.manager, assignment.id, _drill(kt))
    with pytest.raises(Forbidden) as refused:
        drills.record_drill(kt.provider, assignment.id, _drill(kt))
    assert "client-side" in refused.value.message
    comment = drills.comment_on_drill(kt.provider, drill.id, "  He asked no questions.  ")
    assert comment.body == "He asked no questions." and comment.author_id == kt.provider.id
    assert [d.id for d in drills.list_for_shadow(kt.provider, assignment.id)] == [drill.id]


def test_a_stakeholder_who_is_not_the_shadow_cannot_record(kt, assignment):
    onlooker = make_user("stakeholder")
    kt.engagement.followers.append(onlooker)
    db.session.commit()
    with pytest.raises(Forbidden):
        drills.record_drill(onlooker, assignment.id, _drill(kt))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"performed_by_id": None}, "performed_by_id"),
        ({"performed_by_id": "provider"}, "performed_by_id"),
        ({"performed_by_id": "auditor"}, "performed_by_id"),  # reads only (ADR 0228)
        ({"performed_on": clock.now().date() + timedelta(days=3)}, "performed_on"),
        ({"area": "features"}, "area"),  # Mara's, but not this assignment's
        ({"area": "billing"}, "area"),
        ({"evidence_url": "javascript:alert(1)"}, "evidence_url"),
        ({"minutes": 0}, "minutes"),
    ],
)
def test_a_bad_drill_names_the_field_and_changes_nothing(kt, assignment, changes, field):
    if changes.get("performed_by_id") == "provider":
        changes = {"performed_by_id": kt.provider.id}
    if changes.get("performed_by_id") == "auditor":
        changes = {"performed_by_id": make_user("auditor", name="Ada Auditor").id}
    before = _counts()
    with pytest.raises(ValidationFailed) as refused:
        drills.record_drill(kt.manager, assignment.id, _drill(kt, outcome="failed", **changes))
    assert list(refused.value.errors) == [field]
    db.session.rollback()
    assert _counts() == before


def test_tomorrow_is_the_future_but_the_recorders_own_today_is_not(kt, assignment, app):
    from datetime import UTC, date, datetime

    from tests.support.scheduler import frozen

    frozen(app, datetime(2026, 3, 5, 20, 0, tzinfo=UTC))  # already 6 Mar in Sydney (UTC+11)
    with pytest.raises(ValidationFailed) as refused:
        drills.record_drill(kt.manager, assignment.id, _drill(kt, performed_on=date(2026, 3, 6)))
    assert list(refused.value.errors) == ["performed_on"]
    db.session.rollback()
    kt.manager.timezone = "Australia/Sydney"
    db.session.commit()
    drill = drills.record_drill(
        kt.manager, assignment.id, _drill(kt, performed_on=date(2026, 3, 6))
    )
    assert drill.performed_on == date(2026, 3, 6)
