"""Delivering the outbox: SMTP when configured, else .eml files in MAIL_DIR; retries with backoff.

SMTP 4xx replies, timeouts and dropped connections are temporary: the row is tried again
later (exponential backoff). 5xx replies are permanent: the row is marked failed and
never retried. Either way the last reply is kept for the admin outbox page.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from tracker.core import claims, clock, failures
from tracker.core.claims import claim
from tracker.extensions import db
from tracker.models import OutboxEmail

log = logging.getLogger(__name__)
BATCH = 200  # OUTBOX_BATCH overrides
PER_ROW_SECONDS = 0.5  # lease allowance per row of a batch (OUTBOX_LEASE_SECONDS overrides)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=2)


class TemporaryFailure(Exception):
    """Try again later (4xx, timeout, connection trouble)."""

    def __init__(self, reply: str, *, connection: bool = False):
        super().__init__(reply)
        self.connection = connection  # the connection was lost or never made


class PermanentFailure(Exception):
    """Give up (5xx)."""


def build_message(row: OutboxEmail, sender: str) -> EmailMessage:
    """A multipart/alternative message with the row's deterministic Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at)
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.text_body)
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html")
    return message


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failed attempt, capped at two hours."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def lease_for(batch: int, config) -> timedelta:
    """A claim's lease: what one batch may take before its commit, renewed while it runs.

    OUTBOX_LEASE_SECONDS when set (tests use a short one), else a per-row allowance
    times the batch size, at least 30 s. The heartbeat renews it every third of it.
    """
    if config.get("OUTBOX_LEASE_SECONDS"):
        return timedelta(seconds=float(config["OUTBOX_LEASE_SECONDS"]))
    return timedelta(seconds=max(30.0, PER_ROW_SECONDS * batch))


def deliver_due(now: datetime, *, limit: int | None = None) -> int:
    """Claim due outbox rows batch by batch and send each batch over one connection.

    Outcomes are committed once per batch (the crash bound: at most one batch per
    worker may be re-sent, with the same Message-ID; ADR 0160). Returns how many were
    delivered. Stops between batches when the process is asked to stop, and stops a
    batch early when the server is unreachable (the rest are deferred, not attempted).
    """
    config = current_app.config
    limit = limit or int(config.get("OUTBOX_BATCH") or BATCH)
    lease = lease_for(limit, config)
    transport = transport_for(config)
    sent = 0
    try:
        while True:
            worker, ids = claim(
                OutboxEmail, OutboxEmail.next_attempt_at, now, limit=limit, lease=lease
            )
            if ids:
                sent += _deliver_batch(ids, worker, transport, lease)
            if len(ids) < limit or claims.stopping.is_set():
                return sent
    finally:
        transport.close()


def _deliver_batch(ids: list[int], worker: str, transport, lease: timedelta) -> int:
    sender = current_app.config["MAIL_SENDER"]
    # Stop before a send unless this much lease is left: one SMTP timeout, or half the
    # lease when it is shorter (tests); the heartbeat renews it every third.
    timeout = float(current_app.config.get("SMTP_TIMEOUT") or 10)
    margin = min(timeout + 1, lease.total_seconds() / 2)
    rows = db.session.scalars(
        select(OutboxEmail)
        .where(OutboxEmail.id.in_(ids), OutboxEmail.claimed_by == worker)
        .where(OutboxEmail.status == "pending")
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
    ).all()
    sent_ids: dict[str, list[int]] = {}  # reply -> rows (one UPDATE per distinct reply)
    outcomes: list[tuple[int, dict]] = []
    untried: list[int] = []
    connection_failures = 0
    with claims.Heartbeat(OutboxEmail, ids, worker, lease) as heartbeat:
        for index, row in enumerate(rows):
            if connection_failures >= 2 or not heartbeat.safe(margin):
                untried = [r.id for r in rows[index:]]
                break
            try:
                reply = transport.send(build_message(row, sender), row)
            except (PermanentFailure, TemporaryFailure) as exc:
                outcomes.append((row.id, _failure(row, exc)))
                if isinstance(exc, TemporaryFailure) and exc.connection:
                    connection_failures += 1
                continue
            connection_failures = 0
            sent_ids.setdefault(reply, []).append(row.id)
        _record_batch(worker, sent_ids, outcomes, untried)
    return sum(len(group) for group in sent_ids.values())


def _failure(row: OutboxEmail, exc: Exception) -> dict:
    """The row's new values after a failed attempt; backoff counts from this moment."""
    failed_at = clock.now()
    attempts = row.attempts + 1
    values: dict = {"attempts": attempts, "last_reply": str(exc)}
    if isinstance(exc, PermanentFailure):
        values.update(status="failed", failed_at=failed_at)
        failures.record("email", row.id, f"{exc} (given up)")
        return values
    gave_up = attempts >= MAX_ATTEMPTS
    values.update(next_attempt_at=failed_at + backoff(attempts))
    if gave_up:
        values.update(status="failed", failed_at=failed_at)
    later = f"given up after {MAX_ATTEMPTS} attempts" if gave_up else "retried later"
    failures.record("email", row.id, f"{exc} ({later})")
    return values


def _record_batch(worker: str, sent_ids: dict, outcomes, untried: list[int]) -> None:
    """One transaction for the whole batch: sent rows in one UPDATE, failures per row."""
    now = clock.now()
    mine = OutboxEmail.claimed_by == worker
    options = {"synchronize_session": False}
    for reply, ids in sent_ids.items():
        db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id.in_(ids), mine)
            .values(
                status="sent",
                sent_at=now,
                last_reply=reply,
                attempts=OutboxEmail.attempts + 1,
                lease_until=None,
            ),
            execution_options=options,
        )
    for row_id, values in outcomes:
        db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == row_id, mine)
            .values(lease_until=None, **values),
            execution_options=options,
        )
    if untried:  # not attempted: the server was unreachable; try again after one backoff
        db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id.in_(untried), mine)
            .values(lease_until=None, next_attempt_at=now + backoff(1)),
            execution_options=options,
        )
    db.session.commit()


def transport_for(config) -> SmtpTransport | FileTransport:
    """SMTP when SMTP_HOST is set, else files under MAIL_DIR."""
    if config.get("SMTP_HOST"):
        return SmtpTransport(config)
    return FileTransport(Path(config["MAIL_DIR"]))


class FileTransport:
    """Writes each message to MAIL_DIR/<outbox id>-<key hash>.eml (the offline demo)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: EmailMessage, row: OutboxEmail) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / eml_name(row)
        path.write_bytes(message.as_bytes())
        return f"written to {path.name}"

    def close(self) -> None:
        pass


def eml_name(row: OutboxEmail) -> str:
    return f"{row.id:08d}-{row.message_id.strip('<>').split('@')[0][:16]}.eml"


class SmtpTransport:
    """One SMTP connection per batch, opened lazily and reopened after trouble."""

    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        host, port, timeout = c["SMTP_HOST"], int(c["SMTP_PORT"]), float(c["SMTP_TIMEOUT"])
        security = (c.get("SMTP_SECURITY") or "starttls").lower()
        if security == "ssl":
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        # Small SMTP commands otherwise wait on Nagle + delayed ACK (~40 ms per message).
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if c.get("SMTP_USERNAME"):
            smtp.login(c["SMTP_USERNAME"], c.get("SMTP_PASSWORD") or "")
        return smtp

    def send(self, message: EmailMessage, row: OutboxEmail) -> str:
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            refused = self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            # smtplib has already sent RSET; the connection stays usable for the next row.
            code, text = next(iter(exc.recipients.values()))
            raise _classify(code, text) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._reset()  # a refusal of this message only: RSET, keep the connection
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:  # timeouts, refused, disconnects
            self._drop()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}", connection=True) from exc
        if refused:
            code, text = next(iter(refused.values()))
            raise _classify(code, text)
        return "250 accepted"

    def _reset(self) -> None:
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.close()
            finally:
                self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._drop()


def _classify(code: int, text) -> Exception:
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    reply = f"{code} {text}"
    return PermanentFailure(reply) if 500 <= code < 600 else TemporaryFailure(reply)
