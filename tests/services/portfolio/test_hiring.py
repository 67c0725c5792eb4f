"""The hiring evaluation: opened once per engagement after N months (the definition's,
default 12), for the owner; the comparison priced from configuration; nothing of it
reaches a provider (item, audit entry, API, page, CSV)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import bindparam, func, select

from tests.factories import add_member, make_engagement, make_user
from tests.support.scheduler import day_pinned
from tracker.db_setup import UTCDateTime
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import HIRING_EVALUATION_KEY, AuditEvent, ChecklistItem
from tracker.services.delivery import checklists
from tracker.services.portfolio import hiring
from tracker.services.read_model import engagement_page
from tracker.services.staffing.cost import cost_to_date
from workflows.hiring import HiringRules, parse_hiring
from workflows.loader import parse_definition
from workflows.problems import Problems

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


NOW = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC).replace(hour=9)


def _engagement(owner, *, days_running: int, **fields):
    engagement = make_engagement(owner)
    engagement.trial_start = TODAY - timedelta(days=days_running)
    engagement.state = "extension"
    for name, value in fields.items():
        setattr(engagement, name, value)
    db.session.commit()
    return engagement


def _evaluations(engagement_id: int) -> list[ChecklistItem]:
    return list(
        db.session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.engagement_id == engagement_id,
                ChecklistItem.key == HIRING_EVALUATION_KEY,
            )
        )
    )


def test_it_opens_once_after_twelve_months_for_the_owner(ctx):
    owner = make_user("manager")
    due = _engagement(owner, days_running=366)
    young = _engagement(owner, days_running=360)
    closed = _engagement(owner, days_running=400, closed_at=NOW - timedelta(days=1))
    assert hiring.open_due_evaluations(NOW) == 1
    [item] = _evaluations(due.id)
    assert item.owner_id == owner.id and item.status == "open"
    assert _evaluations(young.id) == [] and _evaluations(closed.id) == []
    # completed, or even removed: it does not open again
    checklists.complete_item(owner, item.id, note="Keep augmenting for now")
    assert hiring.open_due_evaluations(NOW) == 0
    db.session.delete(item)
    db.session.commit()
    assert hiring.open_due_evaluations(NOW) == 0
    opened = db.session.scalar(
        select(func.count()).where(
            AuditEvent.engagement_id == due.id, AuditEvent.kind == "hiring_evaluation_opened"
        )
    )
    assert opened == 1


def test_the_tick_step_says_when_there_is_work(ctx):
    owner = make_user("manager")
    _engagement(owner, days_running=370)
    at = bindparam("now", type_=UTCDateTime()), bindparam("midnight", type_=UTCDateTime())
    question = select(hiring.pending(*at))  # built once, as the tick builds it
    midnight = NOW.replace(hour=0)
    assert db.session.scalar(question, {"now": NOW, "midnight": midnight})
    later = _engagement(owner, days_running=300)
    hiring.open_due_evaluations(NOW)
    assert not db.session.scalar(question, {"now": NOW, "midnight": midnight})
    in_two_months = midnight + timedelta(days=70)
    assert db.session.scalar(question, {"now": in_two_months, "midnight": in_two_months})
    assert hiring.open_due_evaluations(in_two_months) == 1
    assert len(_evaluations(later.id)) == 1


def test_the_months_come_from_the_definition():
    shipped = Path("workflows/definitions/staff_augmentation.toml").read_bytes()
    assert parse_definition(shipped).hiring == HiringRules(12)  # the default
    six = parse_definition(shipped + b"\n[hiring]\nevaluate_after_months = 6\n")
    assert six.hiring.evaluate_after_months == 6
    problems = Problems("test.toml")
    assert parse_hiring({"evaluate_after_months": 6}, problems) == HiringRules(6)
    assert parse_hiring(None, problems) == HiringRules(12)
    assert not problems
    for bad in ({"evaluate_after_months": 0}, {"evaluate_after_months": "12"}, {"other": 1}):
        problems = Problems("test.toml")
        parse_hiring(bad, problems)
        assert problems, bad


def test_the_comparison_prices_each_external_member_from_configuration(app, ctx):
    app.config["HIRING_IN_HOUSE_MONTHLY"] = '{"ml_engineer": 10000}'
    owner = make_user("manager")
    engagement = _engagement(owner, days_running=int(12 * 30.4375))
    add_member(engagement, "Full Time")
    half = add_member(engagement, "Half Time")
    half.allocation = 50
    other = add_member(engagement, "Data Person")
    other.role = "data_engineer"
    add_member(engagement, "Internal", external=False)
    db.session.commit()
    comparison = hiring.hiring_comparison(owner, engagement.id, TODAY)
    assert comparison.months == Decimal("12.0")
    by_name = {m.name: m for m in comparison.members}
    assert set(by_name) == {"Full Time", "Half Time", "Data Person"}
    assert by_name["Full Time"].in_house == Decimal("120000")
    assert by_name["Half Time"].in_house == Decimal("60000")
    assert by_name["Data Person"].in_house is None
    assert comparison.unpriced_roles == ["data_engineer"]
    assert comparison.in_house == Decimal("180000")
    assert comparison.cost_to_date == cost_to_date(engagement, TODAY).quantize(Decimal(1))
    assert comparison.difference == comparison.cost_to_date - Decimal("180000")


def test_unreadable_configuration_is_said_not_a_500(app, ctx):
    app.config["HIRING_IN_HOUSE_MONTHLY"] = "{not json"
    owner = make_user("manager")
    engagement = _engagement(owner, days_running=400)
    add_member(engagement)
    comparison = hiring.hiring_comparison(owner, engagement.id, TODAY)
    assert comparison.problem and comparison.in_house == 0


@pytest.mark.parametrize("role", ["provider", "stakeholder"])
def test_nothing_of_it_reaches_who_may_not_see_cost(ctx, role):
    owner = make_user("manager")
    engagement = _engagement(owner, days_running=400)
    viewer = make_user(role, provider="Northwind ML" if role == "provider" else None)
    engagement.followers.append(viewer)
    db.session.commit()
    hiring.open_due_evaluations(NOW)
    [item] = _evaluations(engagement.id)
    with pytest.raises(NotFound):
        hiring.hiring_comparison(viewer, engagement.id, TODAY)
    assert item.id not in {i.id for i in checklists.list_items(viewer, engagement.id)}
    assert item.id in {i.id for i in checklists.list_items(owner, engagement.id)}
    shown = engagement_page.checklists_by_kind(engagement.id, client_only=False)
    assert item.id not in {i.id for items in shown.values() for i in items}
    trail = engagement_page.recent_audit(engagement.id, 100, False)
    assert all(e.kind != "hiring_evaluation_opened" for e in trail)
    assert all((e.data or {}).get("item_id") != item.id for e in trail)
    assert any(
        e.kind == "hiring_evaluation_opened"
        for e in engagement_page.recent_audit(engagement.id, 100, True)
    )
