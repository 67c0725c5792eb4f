"""Delivering webhooks: claim due deliveries with a lease, POST them signed, retry with backoff.

2xx is delivered. Timeouts, connection errors, 429 and 5xx are retried with exponential
backoff and jitter for about a day, then the delivery is failed. Other answers (4xx,
redirects) fail it at once. A URL that now resolves to a private address is refused
before connecting (DNS can change after registration). An endpoint whose deliveries
have failed for WEBHOOK_DISABLE_AFTER without one success is disabled and its admin mailed.
Claims are the outbox's (tracker.core.claims): several schedulers never send
one delivery at the same time; a crash mid-request means one more attempt, with the
same `webhook-id`, so receivers de-duplicate.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from tracker.core import failures
from tracker.core.claims import claim
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import User, WebhookDelivery, WebhookEndpoint
from tracker.services import outbox
from tracker.services.webhooks import check_target, signature_header

log = logging.getLogger(__name__)
BATCH = 100
GIVE_UP_AFTER = timedelta(hours=24)
DISABLE_AFTER = timedelta(days=3)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=4)
EXCERPT_BYTES = 1024
USER_AGENT = "EngagementTracker-Webhooks/1"


@dataclass
class Outcome:
    """What one attempt found: an HTTP status or an error, the reply's first bytes, timing."""

    status: int | None = None
    excerpt: str = ""
    error: str | None = None
    latency_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


def backoff(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 ... minutes (capped at 4 hours), each with up to 20 % jitter."""
    base = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    return base * (1 + random.uniform(0, 0.2))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: following it would skip the SSRF check."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def post(url: str, headers: dict, body: bytes, timeout: float) -> Outcome:
    """POST once; read at most EXCERPT_BYTES of the reply whatever its size."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.monotonic()
    outcome = Outcome()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            outcome.status = response.status
            outcome.excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        outcome.status = exc.code
        outcome.excerpt = exc.read(EXCERPT_BYTES).decode("utf-8", "replace")
        exc.close()
    except (OSError, ValueError) as exc:  # timeouts, refused, reset, DNS, bad URL
        outcome.error = f"{type(exc).__name__}: {exc}"[:500]
    outcome.latency_ms = int((time.monotonic() - started) * 1000)
    return outcome


def deliver_due(now: datetime, *, limit: int = BATCH) -> int:
    """The scheduler step: claim due deliveries batch by batch and send them."""
    delivered = 0
    while True:
        worker, ids = claim(WebhookDelivery, WebhookDelivery.next_attempt_at, now, limit=limit)
        delivered += sum(_deliver_one(delivery_id, worker, now) for delivery_id in ids)
        if len(ids) < limit:
            return delivered


@dataclass(frozen=True)
class Target:
    """What one attempt needs of the endpoint and delivery, read before the request."""

    endpoint_id: int
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    is_enabled: bool
    failing_since: datetime | None
    created_by_id: int | None
    message_id: str
    attempts: int
    created_at: datetime


def _target(delivery: WebhookDelivery) -> Target:
    e = delivery.endpoint
    return Target(
        e.id, e.url, e.secret, e.previous_secret, e.previous_secret_until, e.is_enabled,
        e.failing_since, e.created_by_id, delivery.message_id, delivery.attempts,
        delivery.created_at,
    )  # fmt: skip


def _deliver_one(delivery_id: int, worker: str, now: datetime) -> int:
    # populate_existing: the claim was written on another connection; a copy of the row
    # already in this session's identity map would still show the old claimant.
    delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None or delivery.status != "pending" or delivery.claimed_by != worker:
        db.session.rollback()
        return 0
    target = _target(delivery)
    body = json.dumps(delivery.event.payload, separators=(",", ":"), sort_keys=True).encode()
    db.session.rollback()  # hold no transaction (or SQLite lock) during the HTTP request
    outcome = _attempt(target, body)
    values = _result_values(target, outcome, now)
    if not outcome.delivered:
        gave_up = " (given up)" if values.get("status") == "failed" else " (retried later)"
        failures.record("webhook delivery", delivery_id, f"{outcome.error}{gave_up}")
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.claimed_by == worker)
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    _track_endpoint(target, outcome, now)
    db.session.commit()
    return int(outcome.delivered)


def _attempt(target: Target, body: bytes) -> Outcome:
    if not target.is_enabled:
        return Outcome(error="endpoint disabled")
    try:
        check_target(target.url)
    except ValidationFailed as exc:
        return Outcome(status=None, error="refused: " + "; ".join(exc.errors.get("url", [])))
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": target.message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature_header(target, target.message_id, stamp, body),
    }
    return post(target.url, headers, body, float(current_app.config["WEBHOOK_TIMEOUT"]))


def _result_values(target: Target, outcome: Outcome, now: datetime) -> dict:
    values = {
        "attempts": target.attempts + 1,
        "lease_until": None,
        "response_status": outcome.status,
        "response_excerpt": outcome.excerpt,
        "latency_ms": outcome.latency_ms,
        "last_error": outcome.error,
    }
    if outcome.delivered:
        return values | {"status": "delivered", "delivered_at": now}
    refused = (outcome.error or "").startswith(("refused", "endpoint disabled"))
    too_old = now - _aware(target.created_at) >= GIVE_UP_AFTER
    if refused or not outcome.retryable or too_old:
        return values | {"status": "failed"}
    return values | {"next_attempt_at": now + backoff(values["attempts"])}


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _track_endpoint(endpoint: Target, outcome: Outcome, now: datetime) -> None:
    """Success clears the failure streak; days of nothing but failures disable the endpoint."""
    table = WebhookEndpoint
    if outcome.delivered:
        if endpoint.failing_since is not None:
            clear = update(table).where(table.id == endpoint.endpoint_id)
            db.session.execute(clear.values(failing_since=None))
        return
    if endpoint.failing_since is None:
        db.session.execute(
            update(table)
            .where(table.id == endpoint.endpoint_id, table.failing_since.is_(None))
            .values(failing_since=now)
        )
        return
    if endpoint.is_enabled and now - _aware(endpoint.failing_since) >= DISABLE_AFTER:
        _disable(endpoint, now)


def _disable(endpoint: Target, now: datetime) -> None:
    since = endpoint.failing_since
    reason = f"Disabled on {now:%Y-%m-%d}: every delivery has failed since {since:%Y-%m-%d}."
    done = db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.endpoint_id, WebhookEndpoint.is_enabled.is_(True))
        .values(is_enabled=False, disabled_reason=reason)
    )
    admin = db.session.get(User, endpoint.created_by_id) if endpoint.created_by_id else None
    if done.rowcount and admin is not None:
        link = f"{current_app.config['BASE_URL'].rstrip('/')}/admin/webhooks/{endpoint.endpoint_id}"
        outbox.enqueue(
            f"webhook-disabled:{endpoint.endpoint_id}:{now:%Y%m%d%H%M}",
            admin,
            f"Webhook endpoint disabled: {endpoint.url}"[:300],
            f"{reason}\n\nSee the delivery log and re-enable it at {link}\n",
            category="webhook",
        )
