"""Health's facts in one statement (issue 29): every kind of fact an engagement has comes
back from `gather_facts`, in each kind's own order, typed as before, and re-judging an
engagement the unit of work holds reads nothing else."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import add_member, add_metric, add_milestone, add_target, make_engagement
from tracker.core import clock
from tracker.extensions import db
from tracker.models import AccessEntry, ChangeRequest, ChecklistItem, Engagement, Measurement
from tracker.models.change_request import APPROVED
from tracker.services.judgments.health import refresh_health
from tracker.services.judgments.health_facts import gather_facts

# Types and ordering differ by dialect (a UNION ALL's column types): both databases.
pytestmark = pytest.mark.postgres


def _world():
    engagement = make_engagement()
    today = clock.now().date()
    late = add_milestone(engagement, days=20, period=0, title="Late one")
    early = add_milestone(engagement, days=5, period=0, title="Early one")
    next_period = add_milestone(engagement, days=1, period=1, title="Next period")
    auc = add_metric(engagement, name="Offline AUC")
    p95 = add_metric(engagement, name="p95 latency", direction="lower", unit="ms")
    add_target(early, auc, 0.9)
    add_target(early, p95, 120)
    measured = clock.now() - timedelta(days=1)
    db.session.add(
        Measurement(
            engagement_id=engagement.id,
            metric_id=auc.id,
            value=0.93,
            measured_at=measured,
            measured_on=measured.date(),
        )
    )
    item = db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id).limit(1)
    ).one()
    item.due_date, item.status = today - timedelta(days=3), "open"
    member = add_member(engagement, "Ines Ode")
    member.end_date = today - timedelta(days=10)
    for system in ("VPN", "GitHub org acme-ml"):
        db.session.add(
            AccessEntry(
                engagement_id=engagement.id,
                member_id=member.id,
                system=system,
                kind="code_repository",
                granted_by_id=engagement.owner_id,
            )
        )
    decided = clock.now() - timedelta(days=2)
    db.session.add(
        ChangeRequest(
            engagement_id=engagement.id,
            raised_by_id=engagement.owner_id,
            state=APPROVED,
            raised_in_state=engagement.state,
            why="Two more weeks for the data contract",
            cost_delta_monthly=Decimal("1500.50"),
            cost_delta_total=Decimal("3001.00"),
            schedule_delta_days=14,
            decided_by_id=engagement.owner_id,
            decided_at=decided,
        )
    )
    db.session.commit()
    return engagement, (early, late, next_period), (auc, p95), item, member, decided


def test_every_kind_of_fact_comes_back_in_its_order_and_type(ctx):
    engagement, (early, late, next_period), (auc, p95), item, member, decided = _world()
    today = clock.now().date()

    facts = gather_facts([engagement.id], today)[engagement.id]

    assert [m.id for m in facts.milestones] == [early.id, late.id, next_period.id]
    first = facts.milestones[0]
    assert (first.title, first.status, first.period) == ("Early one", "planned", 0)
    assert isinstance(first.due_date, date) and first.created_at.tzinfo is not None
    assert [(i.id, i.due_date) for i in facts.open_items] == [(item.id, today - timedelta(days=3))]
    judged = facts.targets[early.id]
    assert [(t.metric_id, t.target) for t in judged] == [(auc.id, 0.9), (p95.id, 120)]
    assert judged[0].latest == pytest.approx(0.93) and judged[0].status == "met"
    assert judged[0].latest_at.tzinfo is not None
    assert judged[1].latest is None and judged[1].status == "no_data"
    assert late.id not in facts.targets
    (access,) = facts.open_access
    assert (access.member_id, access.name) == (member.id, "Ines Ode")
    assert access.systems == ("VPN", "GitHub org acme-ml")  # in the order they were granted
    (approved,) = facts.approved
    assert approved.why == "Two more weeks for the data contract"
    assert approved.schedule_delta_days == 14
    assert approved.cost_delta_monthly == Decimal("1500.50")
    assert approved.cost_delta_total == Decimal("3001.00")
    assert abs(approved.decided_at - decided).total_seconds() < 1


def test_facts_of_several_engagements_stay_apart_and_none_is_empty(ctx):
    engagement, *_ = _world()
    bare = make_engagement()
    facts = gather_facts([bare.id, engagement.id], clock.now().date())
    assert len(facts[engagement.id].milestones) == 3 and facts[engagement.id].approved
    assert facts[bare.id].milestones == () and facts[bare.id].approved == ()
    assert facts[bare.id].targets == {} and facts[bare.id].open_access == ()
    assert gather_facts([], clock.now().date()) == {}


def test_rejudging_a_held_engagement_reads_its_facts_in_one_statement(app, ctx, query_counter):
    engagement, *_ = _world()
    held = db.session.get(Engagement, engagement.id)
    assert held.title  # loaded and unexpired: refresh_health reads no engagement row
    with query_counter() as counter:
        refresh_health([held.id])
    reads = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads
    for table in ("milestone", "checklist_item", "access_entry", "change_request"):
        assert f"FROM {table}" in reads[0] or f"JOIN {table}" in reads[0], table
    db.session.rollback()
