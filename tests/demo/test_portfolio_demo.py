"""The demo makes the provider record and the portfolio meaningful: a staff change on
Northwind's record, trials in more than one quarter, a closed engagement's readiness."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import (
    HIRING_EVALUATION_KEY,
    ChecklistItem,
    Engagement,
    ProviderOrganisation,
    User,
)
from tracker.services.portfolio import hiring
from tracker.services.portfolio.figures import build_portfolio
from tracker.services.portfolio.record import provider_record
from tracker.services.read_model.engagement_list import ListQuery
from tracker.services.staffing.cost import DAYS_PER_MONTH


def test_the_demo_record_and_portfolio_have_something_to_show(load_demo, ctx):
    today = date.today()
    load_demo(today)
    manager = db.session.scalar(select(User).where(User.email == "manager@example.com"))
    northwind = db.session.scalar(
        select(ProviderOrganisation).where(ProviderOrganisation.name == "Northwind ML")
    )
    record = provider_record(manager, northwind.id, today)
    pod = db.session.scalar(select(Engagement).where(Engagement.title == "Demand forecasting pod"))
    assert record.staff_changes.engagement_ids == (pod.id,)
    assert record.readiness_at_close is not None
    assert record.trial_met.count > 0 and record.cost_to_date["EUR"] > 0
    assert pod.effective_health != "red" or pod.health_reasons  # judged, with reasons
    portfolio = build_portfolio(manager, ListQuery(), today)
    assert sum(1 for q in portfolio.trials if q.started) >= 2
    assert portfolio.health[-1].total == db.session.scalar(
        select(db.func.count()).select_from(Engagement).where(Engagement.closed_at.is_(None))
    )
    assert any(m.spent > 0 for m in portfolio.spend["EUR"])


def test_the_demo_providers_met_milestones_were_reported_done_by_their_due_date(load_demo, ctx):
    """A met milestone was reported done before it was due and judged soon after; the
    reports used to be dated days ago for milestones due months ago, so the record read
    "Trial pass rate 100%" beside "On time 0%" and a median of 56 days late."""
    today = date.today()
    load_demo(today)
    manager = db.session.scalar(select(User).where(User.email == "manager@example.com"))
    for provider in db.session.scalars(select(ProviderOrganisation)):
        record = provider_record(manager, provider.id, today)
        if record.trial_met.count:
            assert record.on_time.count >= record.trial_met.count, provider.name
            assert record.on_time_rate > 0, provider.name


def test_the_demo_has_one_engagement_past_twelve_months_with_its_hiring_evaluation(
    load_demo, ctx, auth, client
):
    """The fractional lead's engagement has run for over a year: the scheduler step opened
    the owner's "Evaluate hiring" item at seeding; the engagement page and the portfolio
    link to its page, which answers (the crawl reaches it from the portfolio)."""
    today = date.today()
    load_demo(today)
    lead = db.session.scalar(select(Engagement).where(Engagement.title == "ML platform leadership"))
    assert (today - lead.trial_start).days / float(DAYS_PER_MONTH) >= 12
    assert lead.period_start <= today <= lead.period_end  # still in its extension
    items = db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.key == HIRING_EVALUATION_KEY)
    ).all()
    assert [(i.engagement_id, i.owner_id) for i in items] == [(lead.id, lead.owner_id)]
    assert hiring.open_due_evaluations() == 0  # opened once: a tick finds nothing more
    owner = db.session.get(User, lead.owner_id)
    assert auth.login(owner.email, password="demo-password").status_code == 302
    page = client.get(f"/engagements/{lead.id}")
    assert f"/engagements/{lead.id}/hiring-evaluation" in page.get_data(as_text=True)
    assert client.get(f"/engagements/{lead.id}/hiring-evaluation").status_code == 200
    portfolio = client.get("/portfolio").get_data(as_text=True)
    assert f"/engagements/{lead.id}/hiring-evaluation" in portfolio
