"""Digest runs: one per subscriber per period, DST, downtime, and 'changed since'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import make_engagement, make_user
from tests.notifications.conftest import START, digest_emails, runs, subscribe
from tracker.extensions import db
from tracker.models import AuditEvent, DigestRun
from tracker.notifications.digests import run_due


def _tick_every(start: datetime, hours: int, step_minutes: int = 60) -> None:
    instant = start
    while instant <= start + timedelta(hours=hours):
        run_due(instant)
        instant += timedelta(minutes=step_minutes)


def test_repeated_ticks_send_exactly_one_digest_per_period(ctx):
    manager = make_user("manager")
    make_engagement(manager, title="Fraud model refresh")
    subscription = subscribe(manager)
    first = START.replace(hour=8)
    for _ in range(5):
        run_due(first)
    run_due(first + timedelta(hours=6))
    assert [(r.period_key, r.status) for r in runs(subscription.id)] == [("2026-03-02", "sent")]
    emails = digest_emails()
    assert len(emails) == 1 and emails[0].to_address == manager.email
    assert "Fraud model refresh" in emails[0].text_body
    assert emails[0].key == f"digest:{subscription.id}:2026-03-02"


def test_nothing_is_sent_before_the_local_send_time(ctx):
    manager = make_user("manager", timezone="Europe/Helsinki")
    subscription = subscribe(manager)  # 08:00 Helsinki = 06:00 UTC in March
    assert run_due(START.replace(hour=5, minute=59)).sent == 0
    assert run_due(START.replace(hour=6)).sent == 1
    assert runs(subscription.id)[0].period_key == "2026-03-02"


def test_helsinki_subscriber_gets_one_digest_per_local_day_across_both_dst_changes(ctx):
    stakeholder = make_user("stakeholder", timezone="Europe/Helsinki")
    spring = datetime(2026, 3, 27, 0, tzinfo=UTC)
    subscription = subscribe(stakeholder, now=spring)
    _tick_every(spring, 24 * 5, step_minutes=30)
    keys = [r.period_key for r in runs(subscription.id)]
    assert keys == ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"]
    autumn = datetime(2026, 10, 23, 0, tzinfo=UTC)
    from tracker.services.messaging.subscriptions import update_subscription

    update_subscription(stakeholder, subscription.id, {}, now=autumn)
    _tick_every(autumn, 24 * 5, step_minutes=30)
    autumn_keys = [r.period_key for r in runs(subscription.id) if r.period_key >= "2026-10"]
    assert autumn_keys == ["2026-10-23", "2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"]
    assert all(r.status == "sent" for r in runs(subscription.id))
    assert len(digest_emails()) == 10


def test_after_three_days_down_one_digest_is_sent_and_two_are_skipped(ctx):
    manager = make_user("manager")
    subscription = subscribe(manager)
    run_due(START.replace(hour=9))  # 2 Mar sent
    result = run_due(START.replace(hour=9) + timedelta(days=3))  # back on 5 Mar
    assert (result.sent, result.skipped) == (1, 2)
    assert [(r.period_key, r.status) for r in runs(subscription.id)] == [
        ("2026-03-02", "sent"),
        ("2026-03-03", "skipped"),
        ("2026-03-04", "skipped"),
        ("2026-03-05", "sent"),
    ]
    assert len(digest_emails()) == 2


def _transition(engagement, at: datetime, to_state: str) -> None:
    db.session.add(
        AuditEvent(
            engagement_id=engagement.id,
            actor_label="Dana Lee",
            kind="transition",
            event="go",
            from_state="discovery",
            to_state=to_state,
            created_at=at,
        )
    )
    db.session.commit()


def test_changed_since_counts_from_the_previous_digest_actually_sent(ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager, title="Search ranking uplift")
    subscription = subscribe(manager)
    day1 = START.replace(hour=9)
    _transition(engagement, day1 - timedelta(hours=2), "before_first_digest")
    run_due(day1)
    _transition(engagement, day1 + timedelta(days=1), "during_skipped_day_one")
    _transition(engagement, day1 + timedelta(days=2), "during_skipped_day_two")
    run_due(day1 + timedelta(days=3))
    sent = [r for r in runs(subscription.id) if r.status == "sent"]
    assert sent[1].since == day1
    text = digest_emails()[-1].text_body
    assert "During skipped day one" in text and "During skipped day two" in text
    assert "Before first digest" not in text
    assert "Before first digest" in digest_emails()[0].text_body


def test_inactive_subscription_gets_nothing(ctx):
    manager = make_user("manager")
    subscription = subscribe(manager, is_active=False)
    assert run_due(START + timedelta(days=2)).sent == 0
    assert db.session.query(DigestRun).count() == 0
    assert subscription.next_due_at is None


def test_a_new_york_catch_up_digest_names_its_period_not_the_utc_or_local_day_of_the_run(ctx):
    manager = make_user("manager", timezone="America/New_York")
    subscription = subscribe(manager)  # 08:00 New York = 13:00 UTC in early March
    run_due(datetime(2026, 3, 2, 13, tzinfo=UTC))  # 2 Mar sent
    # Back at 06:00 on 5 Mar in New York (11:00 UTC): the latest due period is 4 Mar's.
    result = run_due(datetime(2026, 3, 5, 11, tzinfo=UTC))
    latest = digest_emails()[-1]
    assert (result.sent, result.skipped) == (1, 1)
    assert runs(subscription.id)[-1].period_key == "2026-03-04"
    assert latest.subject.startswith("Engagement digest, 4 Mar 2026:")


def test_digests_are_gathered_once_per_distinct_scope_and_rendered_per_recipient(ctx, monkeypatch):
    from tracker.notifications import digest_content

    gathered = []
    real_gather = digest_content.gather

    def counting_gather(subscription, user, *args):
        gathered.append(user.id)
        return real_gather(subscription, user, *args)

    monkeypatch.setattr(digest_content, "gather", counting_gather)
    managers = [make_user("manager") for _ in range(3)]
    engagements = [make_engagement(managers[0], title=f"E{n}") for n in range(3)]
    alike = [make_user("stakeholder") for _ in range(2)]
    other = make_user("stakeholder")
    for engagement in engagements[:2]:
        engagement.followers.extend(alike)
    engagements[2].followers.append(other)
    db.session.commit()
    for person in [*managers, *alike, other]:
        subscribe(person)
    result = run_due(START.replace(hour=9))
    emails = digest_emails()
    # Scopes: every manager's "everything", the two identical follow sets, the other one.
    assert result.sent == 6 and len(gathered) == 3
    assert sorted(e.to_address for e in emails) == sorted(
        p.email for p in [*managers, *alike, other]
    )
    for email in emails:
        name = next(p.name for p in [*managers, *alike, other] if p.email == email.to_address)
        assert f"For {name}" in email.text_body
    for email in emails:
        if email.to_address in {p.email for p in alike}:
            assert "E1" in email.text_body and "E2" not in email.text_body
