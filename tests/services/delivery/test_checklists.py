"""Checklists (services/delivery/checklists.py): items bound to facts are done exactly while the
fact holds, never ticked by hand; two managers saving one version at once, one wins."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import add_member, make_engagement, make_user
from tests.support.concurrency import run_at_once
from tracker.errors import Conflict, GuardFailed, ValidationFailed
from tracker.extensions import db
from tracker.models import AuditEvent, ChecklistItem, User
from tracker.services.delivery import checklists
from tracker.services.knowledge import artifacts
from tracker.services.staffing import engagements, team
from tracker.services.workflow import transitions


def _item(engagement, key) -> ChecklistItem:
    return db.session.scalars(
        select(ChecklistItem).where(
            ChecklistItem.engagement_id == engagement.id, ChecklistItem.key == key
        )
    ).one()


def test_naming_the_technical_contact_completes_the_item_from_the_data(ctx):
    engagement = make_engagement()
    item = _item(engagement, "technical_contact")
    assert item.status == "open" and item.fact == "technical_contact_named"
    contact = make_user("stakeholder")
    engagements.update_engagement(
        engagement.owner, engagement.id, {"technical_contact_id": contact.id}
    )
    db.session.refresh(item)
    assert item.status == "done" and item.completed_by_id is None and item.is_from_data
    engagements.update_engagement(engagement.owner, engagement.id, {"technical_contact_id": None})
    db.session.refresh(item)
    assert item.status == "open" and item.completed_at is None
    kinds = db.session.scalars(
        select(AuditEvent.kind).where(AuditEvent.actor_label == "from the data")
    ).all()
    assert kinds == ["checklist_completed", "checklist_reopened"]


def test_a_bound_item_cannot_be_ticked_by_hand_while_its_fact_is_false(ctx):
    engagement = make_engagement()
    item = _item(engagement, "problem_statement")
    with pytest.raises(ValidationFailed) as caught:
        checklists.complete_item(engagement.owner, item.id)
    assert "status" in caught.value.errors
    assert "problem statement is empty" in caught.value.errors["status"][0]
    db.session.rollback()
    assert db.session.get(ChecklistItem, item.id).status == "open"
    with pytest.raises(ValidationFailed):
        checklists.complete_item(engagement.owner, item.id, status="not_applicable")


def test_a_bound_item_done_from_the_data_cannot_be_reopened_by_hand(ctx):
    engagement = make_engagement(problem_statement="Forecast demand per store")
    item = _item(engagement, "problem_statement")
    assert item.status == "done"  # created with its fact already true
    with pytest.raises(ValidationFailed) as caught:
        checklists.reopen_item(engagement.owner, item.id)
    assert "status" in caught.value.errors


def test_unbound_items_stay_manual_with_their_completer(ctx):
    engagement = make_engagement()
    item = _item(engagement, "data_access")
    assert item.fact is None
    done = checklists.complete_item(engagement.owner, item.id, note="VPN granted")
    assert done.status == "done" and done.completed_by_id == engagement.owner_id


def test_team_and_artifacts_move_their_bound_items(ctx):
    engagement = make_engagement()
    member = team.add_member(
        engagement.owner, engagement.id, {"name": "Ola", "role": "ml_engineer"}
    )
    overview = _item(engagement, "architecture_overview")
    assert overview.status == "open"
    artifact = artifacts.add_artifact(
        engagement.owner,
        engagement.id,
        {"kind": "architecture_overview", "title": "C4", "url": "https://wiki.example/c4"},
    )
    db.session.refresh(overview)
    assert overview.status == "done" and overview.is_from_data
    artifacts.remove_artifact(engagement.owner, artifact.id)
    db.session.refresh(overview)
    assert overview.status == "open"
    team.remove_member(engagement.owner, member.id)


def test_the_guard_names_the_fact_and_where_it_is_fixed(ctx):
    engagement = make_engagement()
    add_member(engagement)
    with pytest.raises(GuardFailed) as caught:
        transitions.fire(engagement.owner, engagement.id, "start_trial")
    bound = [u for u in caught.value.unmet if (u.ref or {}).get("fact")]
    facts = {u.ref["fact"]: u for u in bound}
    assert set(facts) == {
        "problem_statement_written",
        "technical_contact_named",
        "success_metrics_defined",
        "access_register_complete",
    }
    register = facts["access_register_complete"]
    assert register.ref["fix"] == "access"
    assert "an external member has no access entry yet" in register.message
    contact = facts["technical_contact_named"]
    assert contact.ref["fix"] == "engagement_edit"
    assert "Named internal technical contact" in contact.message
    assert "no internal technical contact is named yet" in contact.message


def test_a_ticked_row_does_not_satisfy_the_guard_while_the_fact_is_false(ctx):
    """The guard judges a bound item by its fact, whatever the row says."""
    engagement = make_engagement()
    item = _item(engagement, "technical_contact")
    item.status = "done"
    db.session.commit()
    with pytest.raises(GuardFailed) as caught:
        transitions.fire(engagement.owner, engagement.id, "start_trial")
    assert any((u.ref or {}).get("fact") == "technical_contact_named" for u in caught.value.unmet)


@pytest.mark.postgres
def test_two_concurrent_saves_of_one_version_exactly_one_wins_on_postgres(pg_app):
    with pg_app.app_context():
        engagement = make_engagement()
        item = db.session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.engagement_id == engagement.id, ChecklistItem.fact.is_(None)
            )
        ).first()
        ids = (item.id, engagement.owner_id, item.version)
    titles = ("First", "Second")

    def read(index: int) -> None:
        db.session.get(ChecklistItem, ids[0])  # both read the same version first

    def save(index: int) -> str:
        owner = db.session.get(User, ids[1])
        checklists.update_item(owner, ids[0], {"title": titles[index]}, ids[2])
        return titles[index]

    results = run_at_once(pg_app, save, 2, prepare=read)
    assert all(isinstance(r, str | Conflict) for r in results), results
    outcomes = [r if isinstance(r, str) else type(r).__name__ for r in results]
    assert "ConcurrentUpdate" in outcomes and len(outcomes) == 2
    winner = next(o for o in outcomes if o != "ConcurrentUpdate")
    with pg_app.app_context():
        stored = db.session.get(ChecklistItem, ids[0])
        assert (stored.title, stored.version) == (winner, ids[2] + 1)
        edits = select(func.count()).select_from(AuditEvent)
        assert db.session.scalar(edits.where(AuditEvent.kind == "checklist_updated")) == 1
