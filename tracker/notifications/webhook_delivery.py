"""Delivering webhooks: claim due deliveries in batches, POST them signed over kept-alive
connections, record a batch's outcomes with one commit, retry with backoff.

2xx is delivered. Timeouts, connection errors, 429 and 5xx are retried with exponential
backoff and jitter for about a day, then the delivery is failed. Other answers (4xx,
redirects) fail it at once. A URL that now resolves to a private address is refused
before connecting (DNS can change after registration), and a new connection whose peer
is not a public address is refused too. An endpoint whose deliveries have failed for
three days (DISABLE_AFTER) without one success is disabled and its admin mailed.

Batches (ADR 0167, after the outbox's ADR 0160): `deliver_due` claims WEBHOOK_BATCH rows
at a time (`claims.drain_batches`), sends them over one HTTP(S) connection per
scheme/host/port kept for the whole step, and writes every row's outcome with one
executemany UPDATE and one commit per batch. The lease (`lease_for`) is kept by a
heartbeat thread for every uncommitted row of the batch (ADR 0163); a clean
stop (`claims.stopping`) records what was sent and releases the rest. A crash before the
batch's commit means one more attempt for the rows it had sent, with the same
`webhook-id`, so receivers de-duplicate.

Breakers (ADR 0204): a timeout, refused connection, TLS or DNS failure is the
endpoint's, not the row's: it trips that endpoint's breaker (`circuits`), its other
deliveries are postponed uncharged until the breaker reopens, and one delivery probes.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import random
import socket
import ssl
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from tracker.core import clock, failures
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import User, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tracker.notifications import circuits
from tracker.scheduling import claims
from tracker.scheduling.claims import drain_batches
from tracker.services.messaging import outbox
from tracker.services.messaging.webhooks import check_target, signature_header

log = logging.getLogger(__name__)
BATCH = 100
GIVE_UP_AFTER = timedelta(hours=24)
DISABLE_AFTER = timedelta(days=3)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=4)
EXCERPT_BYTES = 1024
DRAIN_BYTES = 64 * 1024  # a longer reply is not read to its end: the connection is closed
USER_AGENT = "EngagementTracker-Webhooks/1"


@dataclass
class Outcome:
    """What one attempt found: an HTTP status or an error, the reply's first bytes, timing."""

    status: int | None = None
    excerpt: str = ""
    error: str | None = None
    latency_ms: int = 0
    unreachable: bool = False  # refused, timed out, TLS or DNS: the endpoint, not the row

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


def lease_for(config) -> timedelta:
    """The per-row lease: WEBHOOK_LEASE_SECONDS (at least 2 s), kept by a heartbeat.

    It need not cover one slow attempt: `claims.Heartbeat` renews it every third of
    itself while a request is in flight (ADR 0163).
    """
    return timedelta(seconds=max(float(config.get("WEBHOOK_LEASE_SECONDS") or 15), 2.0))


# --- HTTP: kept-alive connections ------------------------------------------------------

# What a kept-alive connection the receiver has closed in the meantime looks like.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class _Refused(Exception):
    """The connection's peer is not a public address (DNS changed after the check)."""


class Connections:
    """Kept-alive HTTP(S) connections, one per scheme, host and port, for one scheduler step.

    A connection is opened when first needed, reused while the receiver keeps it open,
    and dropped after any error, a reply that closes it, or one too long to read to its
    end; the next request opens a new one. Redirects are answers, never followed
    (http.client does not follow them), so a redirect cannot skip the address checks.
    """

    def __init__(self, timeout: float, *, allow_private: bool = False):
        self.timeout = timeout
        self.allow_private = allow_private
        self.open: dict[tuple, http.client.HTTPConnection] = {}
        self.opened = 0  # connections made, for tests and the benchmark

    def post(self, url: str, headers: dict, body: bytes) -> Outcome:
        """POST once; read at most EXCERPT_BYTES of the reply whatever its size.

        A request on a reused connection that finds it closed by the receiver is sent
        again at once on a new connection (same headers, so the same `webhook-id`); the
        same trouble on a fresh connection is the attempt's outcome.
        """
        started = time.monotonic()
        outcome = Outcome()
        key = None
        try:
            parts = urlsplit(url)
            key = (parts.scheme, parts.hostname, parts.port)  # .port: ValueError if bad
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            reused = key in self.open
            try:
                response = self._request(key, path, headers, body)
            except _STALE:
                if not reused:
                    raise
                response = self._request(key, path, headers, body)
            outcome.status = response.status
            outcome.excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
            self._finish(key, response)
        except _Refused as exc:
            outcome.error = f"refused: {exc}"
        except (OSError, ValueError, http.client.HTTPException) as exc:  # timeouts, resets…
            self._drop(key)
            why = _unreachable(exc, self.timeout)
            outcome.error = (why or f"{type(exc).__name__}: {exc}")[:500]
            outcome.unreachable = why is not None
        outcome.latency_ms = int((time.monotonic() - started) * 1000)
        return outcome

    def _request(self, key: tuple, path: str, headers: dict, body: bytes):
        connection = self.open.get(key) or self._connect(key)
        try:
            connection.request("POST", path, body=body, headers=headers)
            return connection.getresponse()
        except BaseException:
            self._drop(key)
            raise

    def _connect(self, key: tuple) -> http.client.HTTPConnection:
        scheme, host, port = key
        if scheme == "https":
            context = ssl.create_default_context()
            connection = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        connection.connect()  # http.client sets TCP_NODELAY
        self.opened += 1
        if not self.allow_private:
            peer = _public_address(connection.sock.getpeername()[0])
            if peer is not None:
                connection.close()
                raise _Refused(f"{host} connected to {peer}, which is not public.")
        self.open[key] = connection
        return connection

    def _finish(self, key: tuple, response: http.client.HTTPResponse) -> None:
        """Keep the connection only if the reply was read to its end and it stays open."""
        if not response.isclosed() and not response.will_close:
            if response.length is None or response.length <= DRAIN_BYTES:
                response.read(DRAIN_BYTES)  # the rest of a short reply, so the next can follow
        if response.will_close or not response.isclosed():
            self._drop(key)

    def _drop(self, key: tuple) -> None:
        connection = self.open.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self.open):
            self._drop(key)


def _unreachable(exc: BaseException, timeout: float) -> str | None:
    """The endpoint could not be reached or did not answer in time, in words (trips its
    breaker, ADR 0204); None for anything else (a reset, a bad reply: that row's)."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return "host not found"
    return None


def _public_address(text: str):
    """None when `text` is a public address, else the address (as check_target judges)."""
    address = ipaddress.ip_address(text.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return None if address.is_global and not address.is_multicast else address


# --- the scheduler step ----------------------------------------------------------------


def pending(now, midnight):
    """SQL truth value: a webhook delivery is due (what `deliver_due` would claim)."""
    return claims.pending(WebhookDelivery, WebhookDelivery.next_attempt_at, now)


def deliver_due(now: datetime, *, limit: int | None = None) -> int:
    """The scheduler step: claim due deliveries batch by batch and send them.

    Returns how many were delivered. Each batch's outcomes are committed together; the
    connections are kept for the whole step.
    """
    config = current_app.config
    limit = limit or int(config.get("WEBHOOK_BATCH") or BATCH)
    lease = lease_for(config)
    connections = Connections(
        float(config["WEBHOOK_TIMEOUT"]),
        allow_private=bool(config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS")),
    )
    resting = _Resting(max(now, clock.now()))
    handle = partial(_deliver_batch, now=now, connections=connections, lease=lease, resting=resting)
    try:
        return drain_batches(
            WebhookDelivery, WebhookDelivery.next_attempt_at, now, handle, limit=limit, lease=lease
        )
    finally:
        connections.close()


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


# What a batch reads: plain columns, no ORM objects (nothing to keep in step with the
# claim, which was written on another connection).
_E, _D = WebhookEndpoint, WebhookDelivery
_COLUMNS = (
    _E.id,
    _E.url,
    _E.secret,
    _E.previous_secret,
    _E.previous_secret_until,
    _E.is_enabled,
    _E.failing_since,
    _E.created_by_id,
    _D.message_id,
    _D.attempts,
    _D.created_at,
)  # Target's fields, in order


def _work(ids: list[int], worker: str) -> list[tuple[int, Target, bytes]]:
    """The batch's pending rows still claimed by `worker`, in due order: (id, target, body)."""
    rows = db.session.execute(
        select(_D.id, WebhookEvent.payload, *_COLUMNS)
        .join(_E, _E.id == _D.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == _D.event_id)
        .where(_D.id.in_(ids), _D.claimed_by == worker, _D.status == "pending")
        .order_by(_D.next_attempt_at, _D.id)
    ).all()
    return [(row[0], Target(*row[2:]), _body(row[1])) for row in rows]


def _body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _deliver_batch(
    ids: list[int],
    worker: str,
    *,
    now: datetime,
    connections: Connections,
    lease: timedelta,
    resting: _Resting,
) -> int:
    """Send one claimed batch in order, then record every outcome with one commit."""
    work = _work(ids, worker)
    db.session.rollback()  # hold no transaction (or SQLite lock) during the HTTP requests
    results = _Results()
    endpoints = _Endpoints()
    remaining = [row_id for row_id, _, _ in work]
    checked: dict[str, str | None] = {}  # url -> why it is refused, once per batch
    try:
        with claims.Heartbeat(WebhookDelivery, remaining, worker, lease) as heartbeat:
            for row_id, target, body in work:
                if claims.stopping.is_set():
                    break  # clean stop: record what was done, release the rest
                if not heartbeat.ensure():
                    break  # the lease could not be kept: send nothing we may not own
                until = resting.until(target.endpoint_id)
                if until is not None:  # its endpoint rests: later, uncharged
                    results.postpone(row_id, until)
                    remaining.remove(row_id)
                    continue
                target = endpoints.current(target)
                outcome = _attempt(target, body, connections, checked)
                resting.after(target.endpoint_id, outcome)
                at = max(now, clock.now())  # back-off from the attempt, not the step's start
                values = _result_values(target, outcome, at)
                if not outcome.delivered:
                    failed = values.get("status") == "failed"
                    gave_up = " (given up)" if failed else " (retried later)"
                    reason = outcome.error or f"HTTP {outcome.status}"  # a reply has no error
                    failures.record("webhook delivery", row_id, f"{reason}{gave_up}")
                results.add(row_id, values)
                endpoints.track(target, outcome, at)
                remaining.remove(row_id)
        if heartbeat.lost:
            log.warning("webhooks: lost the lease on %d rows", len(heartbeat.lost))
    finally:
        results.write(worker)
        endpoints.write()
        db.session.commit()
        claims.release(WebhookDelivery, remaining, worker)
    return results.delivered


def _attempt(target: Target, body: bytes, connections: Connections, checked: dict) -> Outcome:
    if not target.is_enabled:
        return Outcome(error="endpoint disabled")
    if target.url not in checked:
        try:
            check_target(target.url)
            checked[target.url] = None
        except ValidationFailed as exc:
            checked[target.url] = "refused: " + "; ".join(exc.errors.get("url", []))
    if checked[target.url] is not None:
        return Outcome(status=None, error=checked[target.url])
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": target.message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature_header(target, target.message_id, stamp, body),
    }
    return connections.post(target.url, headers, body)


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


class _Results:
    """A batch's outcomes, written as one executemany UPDATE (each row its own values)."""

    def __init__(self):
        self.rows: list[dict] = []
        self.postponed: dict[datetime, list[int]] = {}
        self.delivered = 0

    def postpone(self, row_id: int, until: datetime) -> None:
        """Not attempted (its endpoint's breaker is open): due again when it closes."""
        self.postponed.setdefault(until, []).append(row_id)

    def add(self, row_id: int, values: dict) -> None:
        self.delivered += values.get("status") == "delivered"
        self.rows.append(
            {
                "b_id": row_id,
                "b_status": values.get("status", "pending"),
                "b_attempts": values["attempts"],
                "b_response_status": values["response_status"],
                "b_excerpt": values["response_excerpt"],
                "b_latency": values["latency_ms"],
                "b_error": values["last_error"],
                "b_at": values.get("delivered_at"),
                "b_next": values.get("next_attempt_at"),
            }
        )

    def write(self, worker: str) -> None:
        for until, ids in self.postponed.items():
            db.session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), WebhookDelivery.claimed_by == worker)
                .values(next_attempt_at=until, lease_until=None, claimed_by=None),
                execution_options={"synchronize_session": False},
            )
        if not self.rows:
            return
        table = WebhookDelivery
        due = table.next_attempt_at
        when = due.type
        statement = (
            update(table)
            .where(table.id == bindparam("b_id"), table.claimed_by == worker)
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                lease_until=None,
                response_status=bindparam("b_response_status"),
                response_excerpt=bindparam("b_excerpt"),
                latency_ms=bindparam("b_latency"),
                last_error=bindparam("b_error"),
                delivered_at=func.coalesce(bindparam("b_at", type_=when), table.delivered_at),
                next_attempt_at=func.coalesce(bindparam("b_next", type_=when), due),
            )
        )
        db.session.connection().execute(statement, self.rows)


class _Resting:
    """Each endpoint's breaker for one delivery step (ADR 0204): one slow or unreachable
    receiver costs one timeout per breaker delay, never one per delivery, and never
    holds up the other endpoints' deliveries."""

    def __init__(self, now: datetime):
        self.now = now
        self.known = {c.name: c for c in circuits.open_ones("webhook:")}
        self.tripped: dict[int, datetime] = {}

    def until(self, endpoint_id: int) -> datetime | None:
        """Until when the endpoint rests, or None when it may be tried (or probed)."""
        if endpoint_id in self.tripped:
            return self.tripped[endpoint_id]
        known = self.known.get(circuits.webhook(endpoint_id))
        return known.open_until if known is not None and known.is_open(self.now) else None

    def after(self, endpoint_id: int, outcome: Outcome) -> None:
        name = circuits.webhook(endpoint_id)
        if outcome.unreachable:
            circuit = circuits.trip(name, f"endpoint {outcome.error}")
            self.tripped[endpoint_id] = circuit.open_until
        elif outcome.status is not None and self.known.pop(name, None) is not None:
            circuits.close(name)  # the probe got an answer: the endpoint is back


class _Endpoints:
    """Each endpoint's failure streak as the batch goes, and the writes it calls for.

    Decisions are made row by row in the order of the attempts, exactly as when each row
    was its own transaction (a success clears the streak, so a later failure starts a new
    one; an endpoint disabled by one row refuses the batch's later rows); the UPDATEs and
    the admin's email are written with the batch's commit.
    """

    def __init__(self):
        self.state: dict[int, tuple[datetime | None, bool]] = {}
        self.writes: list[tuple[str, Target, datetime]] = []

    def current(self, target: Target) -> Target:
        if target.endpoint_id not in self.state:
            return target
        failing_since, is_enabled = self.state[target.endpoint_id]
        return replace(target, failing_since=failing_since, is_enabled=is_enabled)

    def track(self, endpoint: Target, outcome: Outcome, now: datetime) -> None:
        """Success clears the failure streak; days of nothing but failures disable it."""
        failing_since, is_enabled = endpoint.failing_since, endpoint.is_enabled
        if outcome.delivered:
            if failing_since is not None:
                self.writes.append(("clear", endpoint, now))
            failing_since = None
        elif failing_since is None:
            self.writes.append(("failing", endpoint, now))
            failing_since = now
        elif is_enabled and now - _aware(failing_since) >= DISABLE_AFTER:
            self.writes.append(("disable", endpoint, now))
            is_enabled = False
        self.state[endpoint.endpoint_id] = (failing_since, is_enabled)

    def write(self) -> None:
        table = WebhookEndpoint
        for kind, endpoint, now in self.writes:
            if kind == "clear":
                clear = update(table).where(table.id == endpoint.endpoint_id)
                db.session.execute(clear.values(failing_since=None))
            elif kind == "failing":
                db.session.execute(
                    update(table)
                    .where(table.id == endpoint.endpoint_id, table.failing_since.is_(None))
                    .values(failing_since=now)
                )
            else:
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
