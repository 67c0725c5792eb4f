"""Digest runs: materialise each due period exactly once, render it, queue it in the outbox.

The database decides what is due (Subscription.next_due_at). A worker claims a
subscription with a conditional UPDATE on the next_due_at it read, so of two
threads or processes only one moves it on; that worker writes the DigestRun
rows and the outbox row in the same transaction. UNIQUE(subscription_id,
period_key) and the outbox's unique key make a second copy impossible anyway.
After downtime only the latest missed period is sent; the older ones are
recorded as skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tracker.core import clock
from tracker.extensions import db
from tracker.models import DigestRun, Subscription, User
from tracker.notifications.digest_content import DigestContent, ScopeCache
from tracker.services.messaging import outbox
from tracker.services.messaging.digest_period import Period, next_send_at, periods_due, schedule_of
from tracker.services.messaging.subscriptions import unsubscribe_token

log = logging.getLogger(__name__)


@dataclass
class DigestMessage:
    """A rendered digest, ready for the outbox."""

    subject: str
    text: str
    html: str
    headers: dict
    content: DigestContent


@dataclass
class RunResult:
    """What one pass over the due subscriptions did."""

    sent: int = 0
    skipped: int = 0
    lost_races: int = 0


def _due(now: datetime):
    """Active subscriptions of active users whose next digest is due at `now`."""
    return (
        select(Subscription.id)
        .join(User, Subscription.user_id == User.id)
        .where(
            Subscription.is_active.is_(True),
            User.is_active.is_(True),
            Subscription.next_due_at <= now,
        )
    )


def pending(now, midnight):
    """SQL truth value: a digest is due (what `run_due` would process)."""
    return _due(now).exists()


def run_due(now: datetime | None = None) -> RunResult:
    """Process every active subscription due at `now`; each one in its own transaction."""
    now = now or clock.now()
    due_ids = db.session.scalars(
        _due(now).order_by(Subscription.next_due_at, Subscription.id)
    ).all()
    db.session.rollback()
    result = RunResult()
    scopes = ScopeCache()  # one gather per distinct scope in this run (ADR 0166)
    for subscription_id in due_ids:  # each subscription in its own transaction
        outcome = run_subscription(subscription_id, now, scopes)
        if outcome is not None and not _commit(subscription_id):
            outcome = None
        if outcome is None:
            result.lost_races += 1
        else:
            result.sent += outcome[0]
            result.skipped += outcome[1]
    return result


def tick_step(now: datetime) -> int:
    """The scheduler tick's digest step: how many digests were queued."""
    return run_due(now).sent


def _commit(subscription_id: int) -> bool:
    """Commit one subscription's run; False when a concurrent worker recorded it first."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("digest for subscription %s already recorded", subscription_id)
        return False
    return True


def run_subscription(
    subscription_id: int, now: datetime, scopes: ScopeCache | None = None
) -> tuple[int, int] | None:
    """Send the latest due period and skip older ones; None if another worker got there first.

    Writes the runs and the outbox row into the session; `run_due` commits them.
    """
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or subscription.next_due_at is None or subscription.next_due_at > now:
        db.session.rollback()
        return None
    schedule = schedule_of(subscription)
    due_from = subscription.next_due_at
    periods = periods_due(schedule, due_from, now)
    message = None
    if periods:
        since = previous_sent_until(subscription.id) or now - schedule.step
        message = build_message(
            subscription, subscription.user, since, now, period=periods[-1], scopes=scopes
        )
    if not _claim(subscription.id, due_from, next_send_at(schedule, now)):
        db.session.rollback()
        return None
    if not periods:  # the schedule changed under us: just move on to the next period
        return (0, 0)
    _record_runs(subscription, periods, message, since, now)
    return (1, len(periods) - 1)


def _claim(subscription_id: int, due_from: datetime, next_due: datetime) -> bool:
    """Move next_due_at on only if nobody else did since we read it (the claim)."""
    moved = db.session.execute(
        update(Subscription)
        .where(
            Subscription.id == subscription_id,
            Subscription.next_due_at == due_from,
            Subscription.is_active.is_(True),
        )
        .values(next_due_at=next_due)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1


def _record_runs(subscription, periods: list[Period], message, since, now) -> None:
    for period in periods[:-1]:
        db.session.add(
            DigestRun(
                subscription_id=subscription.id,
                period_key=period.key,
                status="skipped",
                data={"reason": "a later period was due", "send_at": period.send_at.isoformat()},
            )
        )
    latest = periods[-1]
    email = outbox.enqueue(
        f"digest:{subscription.id}:{latest.key}",
        subscription.user,
        message.subject,
        message.text,
        message.html,
        headers=message.headers,
        category="digest",
    )
    db.session.flush()
    db.session.add(
        DigestRun(
            subscription_id=subscription.id,
            period_key=latest.key,
            status="sent",
            since=since,
            outbox_id=email.id if email is not None else None,
            data={
                "until": now.isoformat(),
                "send_at": latest.send_at.isoformat(),
                "engagements": [e.id for e in message.content.engagements],
                "counts": message.content.counts,
            },
        )
    )


def previous_sent_until(subscription_id: int) -> datetime | None:
    """The instant the previous digest actually sent was generated (changes count from it)."""
    run = db.session.scalar(
        select(DigestRun)
        .where(DigestRun.subscription_id == subscription_id, DigestRun.status == "sent")
        .order_by(DigestRun.id.desc())
        .limit(1)
    )
    if run is None:
        return None
    until = (run.data or {}).get("until")
    return datetime.fromisoformat(until) if until else run.created_at


def build_message(
    subscription: Subscription,
    user: User,
    since: datetime,
    now: datetime,
    *,
    period: Period | None = None,
    scopes: ScopeCache | None = None,
) -> DigestMessage:
    """Gather and render the digest for this subscription as of `now` (writes nothing).

    `period` is the one being sent: the subject names its local date (after an outage
    the run may be a day later, or before the send time, in the subscriber's zone).
    """
    zone = ZoneInfo(subscription.timezone or user.timezone or "UTC")
    today = now.astimezone(zone).date()
    scopes = scopes if scopes is not None else ScopeCache()
    content = scopes.gather(subscription, user, since, now, today)
    unsubscribe_url = _unsubscribe_url(subscription)
    context = {
        "digest": content,
        "subscription": subscription,
        "base_url": current_app.config["BASE_URL"].rstrip("/"),
        "unsubscribe_url": unsubscribe_url,
        "since_local": since.astimezone(zone),
        "frequency_text": "daily" if subscription.frequency == "daily" else "weekly",
    }
    headers = {}
    if unsubscribe_url:
        headers = {
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    return DigestMessage(
        subject=subject_line(content, period, subscription.frequency),
        text=render_template("email/digest.txt", **context),
        html=render_template("email/digest.html", **context),
        headers=headers,
        content=content,
    )


def subject_line(content: DigestContent, period: Period | None = None, frequency="daily") -> str:
    """ "Engagement digest, 22 Nov 2026: 1 red, 2 amber, 4 green" (the period's local date;
    "week of 16 Nov 2026" for a weekly one); a preview names today."""
    parts = [f"{content.counts[h]} {h}" for h in ("red", "amber", "green") if content.counts[h]]
    summary = ", ".join(parts) if parts else "no engagements"
    day = period.local_date if period is not None else content.today
    when = f"{day:%-d %b %Y}"
    if frequency == "weekly" and period is not None:
        when = f"week of {day - timedelta(days=day.weekday()):%-d %b %Y}"
    return f"Engagement digest, {when}: {summary}"


def _unsubscribe_url(subscription: Subscription) -> str | None:
    if subscription.id is None:  # a preview of a subscription that does not exist
        return None
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/digests/unsubscribe/{unsubscribe_token(subscription.id)}"


def preview(user: User, now: datetime | None = None) -> DigestMessage:
    """The digest this user would get now: their first active subscription, else 'all, daily'."""
    now = now or clock.now()
    subscription = db.session.scalar(
        select(Subscription)
        .where(Subscription.user_id == user.id, Subscription.is_active.is_(True))
        .order_by(Subscription.id)
        .limit(1)
    )
    if subscription is None:
        subscription = transient_subscription(user)
    since = None
    if subscription.id is not None:
        since = previous_sent_until(subscription.id)
    step = timedelta(days=7 if subscription.frequency == "weekly" else 1)
    return build_message(subscription, user, since or now - step, now)


def transient_subscription(user: User) -> Subscription:
    """A daily 'everything I can see' subscription that is never saved (for previews)."""
    from datetime import time

    return Subscription(
        user_id=user.id, scope="all", frequency="daily", send_time=time(8), timezone=user.timezone
    )
