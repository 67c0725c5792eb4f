"""What a digest says, and what it never says to a provider."""

from __future__ import annotations

from datetime import date, timedelta

from tests.factories import add_milestone, make_engagement, make_user
from tests.notifications.conftest import START, digest_emails, subscribe
from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, Milestone, MilestoneUpdate
from tracker.notifications.digest_content import gather, period_text
from tracker.notifications.digests import run_due

SECRET_NOTE = "Finance says budget ends in June"


def _two_providers():
    manager = make_user("manager")
    ours = make_engagement(
        manager, provider="Northwind ML", title="Demand forecasting pod", monthly_cost=34567
    )
    theirs = make_engagement(
        manager, provider="Quanta Labs", title="Vision QA for the packing line", monthly_cost=76543
    )
    for engagement in (ours, theirs):
        engagement.internal_notes = SECRET_NOTE
    db.session.commit()
    return manager, ours, theirs


def test_provider_digest_has_no_costs_notes_or_other_providers(ctx):
    manager, ours, theirs = _two_providers()
    priya = make_user("provider", provider="Northwind ML")
    subscribe(priya)
    subscribe(manager)
    run_due(START.replace(hour=9))
    by_recipient = {e.to_address: e for e in digest_emails()}
    provider_mail = by_recipient[priya.email]
    for body in (provider_mail.text_body, provider_mail.html_body, provider_mail.subject):
        assert "Demand forecasting pod" in body or body is provider_mail.subject
        for secret in ("Vision QA", "Quanta Labs", "34,567", "76,543", SECRET_NOTE, "Cost:"):
            assert secret not in body
    manager_mail = by_recipient[manager.email]
    for shown in ("Vision QA for the packing line", "EUR 34,567", SECRET_NOTE):
        assert shown in manager_mail.text_body and shown in manager_mail.html_body


def test_provider_scope_and_chosen_scope_narrow_the_digest(ctx):
    manager, ours, theirs = _two_providers()
    sub = subscribe(manager, scope="provider", provider_id=theirs.provider_id)
    stakeholder = make_user("stakeholder")
    chosen = subscribe(stakeholder, actor=manager, scope="chosen", engagement_ids=[ours.id])
    run_due(START.replace(hour=9))
    emails = {e.to_address: e.text_body for e in digest_emails()}
    assert (
        "Vision QA" in emails[manager.email] and "Demand forecasting" not in emails[manager.email]
    )
    assert "Demand forecasting" in emails[stakeholder.email]
    assert "Vision QA" not in emails[stakeholder.email]
    assert sub.provider_id == theirs.provider_id and [e.id for e in chosen.engagements] == [ours.id]


def test_sections_list_state_health_due_overdue_and_changes(ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager, title="Churn model handover")
    due_soon = add_milestone(engagement, days=5, title="Day-60 milestone", status="at_risk")
    late = add_milestone(engagement, days=-3, title="Day-30 milestone", status="on_track")
    item = db.session.query(ChecklistItem).filter_by(engagement_id=engagement.id).first()
    item.due_date, item.status = date.today() - timedelta(days=1), "open"
    db.session.add(
        MilestoneUpdate(milestone_id=due_soon.id, from_status="on_track", status="at_risk")
    )
    db.session.commit()
    sub = subscribe(manager)
    now = START
    content = gather(
        sub, manager, now - timedelta(days=30), now + timedelta(days=3650), date.today()
    )
    section = content.engagements[0]
    # Judged at the set-up's commit: the late Day-30 milestone has no running period: red.
    stored = db.session.get(Engagement, engagement.id)
    assert content.counts == {"red": 1, "amber": 0, "green": 0} and content.total == 1
    assert section.health == stored.health == "red"
    assert section.reasons == [reason["message"] for reason in stored.health_reasons]
    assert "Milestone 'Day-60 milestone' is at risk" in section.reasons
    assert any("Day-60 milestone" in text for text in section.due)
    assert any("Day-30 milestone" in text and "3 days late" in text for text in section.overdue)
    assert any(item.title in text for text in section.overdue)
    assert "Day-60 milestone: On track → At risk" in section.changes
    assert db.session.get(Milestone, late.id).status == "on_track"


def test_period_text_counts_days_of_the_trial(ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager)
    engagement.state = "trial"
    engagement.trial_start = date(2026, 1, 1)
    engagement.trial_end = date(2026, 4, 1)
    assert period_text(engagement, date(2026, 2, 9)) == "Day 40 of 90 of the trial"


def test_period_text_shows_the_hold_instead_of_the_day_count(ctx):
    from datetime import UTC, datetime

    from tracker.services.workflow import transitions

    manager = make_user("manager")
    engagement = make_engagement(manager)
    engagement.state = "trial"
    engagement.trial_start = engagement.period_start = date(2026, 1, 1)
    engagement.trial_end = engagement.period_end = date(2026, 4, 1)
    db.session.commit()
    when = datetime(2026, 2, 9, 10, 0, tzinfo=UTC)
    transitions.fire(
        manager,
        engagement.id,
        "put_on_hold",
        {"reason": "Data access slipped", "expected_resume": date(2026, 3, 2)},
        now=when,
    )
    assert period_text(engagement, date(2026, 2, 20)) == (
        "On hold since 9 Feb (from Trial): Data access slipped; expected back 2 Mar"
    )


def test_trial_ending_without_a_review_timer_needs_a_decision(ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager, title="LLM support assistant")
    engagement.state = "trial"
    engagement.trial_start = date.today() - timedelta(days=83)
    engagement.trial_end = date.today() + timedelta(days=7)
    db.session.commit()
    sub = subscribe(manager)
    content = gather(sub, manager, START, START, date.today())
    assert [e.title for e in content.decisions] == ["LLM support assistant"]
    assert "no review is scheduled" in content.decisions[0].needs_decision


def test_the_digest_lists_targets_short_of_their_goal_and_what_was_measured(ctx):
    from datetime import UTC, datetime

    from tests.factories import add_metric, add_target
    from tracker.services.evidence import measurements

    manager, ours, _ = _two_providers()
    milestone = add_milestone(ours, days=20, title="Day-60")
    latency = add_metric(ours, name="p95 latency", kind="latency", direction="lower", unit="ms")
    cost = add_metric(ours, name="Cost per 1,000", kind="cost", direction="lower", unit="EUR")
    add_target(milestone, latency, 2000)
    add_target(milestone, cost, 1.5)
    when = datetime(2026, 1, 5, 8, tzinfo=UTC)
    items = [
        {"metric_id": latency.id, "value": 2300.0, "measured_at": when},
        {"metric_id": cost.id, "value": 2.75, "measured_at": when},
    ]
    measurements.record_batch(manager, ours.id, items)
    content = gather(subscribe(manager), manager, when - timedelta(days=7), when, when.date())
    section = next(s for s in content.engagements if s.id == ours.id)
    assert section.short_targets[0].startswith("p95 latency: 2,300 ms against ≤ 2,000 ms (Day-60")
    assert section.short_targets[1].startswith("'Cost per 1,000' short of its target")
    assert "2.75" not in " ".join(section.short_targets)
    assert section.measured == [
        "1 measurement of 'Cost per 1,000'",
        "1 measurement of 'p95 latency'",
    ]
