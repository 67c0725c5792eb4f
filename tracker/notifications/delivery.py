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
from functools import partial
from pathlib import Path

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from tracker.core import claims, clock, failures
from tracker.core.claims import drain_batches
from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.notifications.mime import InvalidMessage, Prepared, Sender, prepare

log = logging.getLogger(__name__)
BATCH = 200
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=2)


class TemporaryFailure(Exception):
    """Try again later (4xx, timeout, connection trouble)."""


class PermanentFailure(Exception):
    """Give up (5xx)."""


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failed attempt, capped at two hours."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def lease_for(config) -> timedelta:
    """The per-row lease: MAIL_LEASE_SECONDS (at least 2 s).

    It need not cover one slow message: a heartbeat thread renews it every third of
    itself while the message is in flight (ADR 0163). It bounds how long a killed
    worker's rows wait for another worker.
    """
    return timedelta(seconds=max(float(config.get("MAIL_LEASE_SECONDS") or 15), 2.0))


def pending(now, midnight):
    """SQL truth value: an email is due (what `deliver_due` would claim)."""
    return claims.pending(OutboxEmail, OutboxEmail.next_attempt_at, now)


def deliver_due(now: datetime, *, limit: int | None = None) -> int:
    """Claim due outbox rows batch by batch and send them; returns how many were delivered.

    Each batch goes over one SMTP connection and its outcomes are committed together
    (ADR 0160); the lease of the batch's unfinished rows is renewed as it goes.
    """
    config = current_app.config
    limit = limit or int(config.get("MAIL_BATCH") or BATCH)
    lease = lease_for(config)
    sender = Sender(config["MAIL_SENDER"])  # a bad MAIL_SENDER fails the step, claims nothing
    transport = transport_for(config)
    handle = partial(_deliver_batch, sender=sender, transport=transport, lease=lease)
    try:
        return drain_batches(
            OutboxEmail, OutboxEmail.next_attempt_at, now, handle, limit=limit, lease=lease
        )
    finally:
        transport.close()


def _deliver_batch(ids: list[int], worker: str, sender: Sender, transport, lease: timedelta) -> int:
    """Send one claimed batch, each message built once as bytes; one commit of outcomes."""
    rows = db.session.execute(
        select(*_COLUMNS)
        .where(OutboxEmail.id.in_(ids), OutboxEmail.claimed_by == worker)
        .where(OutboxEmail.status == "pending")
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
    ).all()
    outcomes = _Outcomes()
    work = []
    for row in rows:
        try:
            work.append((row.id, row.attempts, prepare(row, sender)))
        except InvalidMessage as exc:  # nothing any server could accept: give up at once
            outcomes.failed(row.id, str(exc), clock.now())
            failures.record("email", row.id, f"{exc} (given up)")
    db.session.rollback()  # end the read transaction: nothing is held while SMTP talks
    remaining = [row_id for row_id, *_ in work]
    try:
        with claims.Heartbeat(OutboxEmail, remaining, worker, lease) as heartbeat:
            for row_id, attempts, message in work:
                if claims.stopping.is_set():
                    break  # clean stop: record what was done, release the rest
                if not heartbeat.ensure():
                    break  # the lease could not be kept: send nothing we may not own
                _send_one(transport, outcomes, row_id, attempts, message)
                remaining.remove(row_id)
        if heartbeat.lost:
            sent = len(heartbeat.lost & set(outcomes.sent_ids))
            log.warning(
                "delivery: lost the lease on %d rows (%d already sent may be sent again)",
                len(heartbeat.lost),
                sent,
            )
    finally:
        outcomes.commit(worker)
        claims.release(OutboxEmail, remaining, worker)
    return len(outcomes.sent_ids)


def _send_one(transport, outcomes, row_id: int, attempts: int, message: Prepared) -> None:
    """One message: its outcome is noted for the batch's commit, a failure recorded."""
    try:
        outcomes.sent(row_id, transport.send(message), clock.now())
    except PermanentFailure as exc:
        outcomes.failed(row_id, str(exc), clock.now())
        failures.record("email", row_id, f"{exc} (given up)")
    except TemporaryFailure as exc:
        gave_up = attempts + 1 >= MAX_ATTEMPTS
        outcomes.later(row_id, attempts + 1, str(exc), clock.now(), gave_up)
        later = f"given up after {MAX_ATTEMPTS} attempts" if gave_up else "retried later"
        failures.record("email", row_id, f"{exc} ({later})")


# What a batch reads of each row: no ORM objects, nothing to expire or flush.
_COLUMNS = (
    OutboxEmail.id,
    OutboxEmail.attempts,
    OutboxEmail.to_address,
    OutboxEmail.subject,
    OutboxEmail.message_id,
    OutboxEmail.created_at,
    OutboxEmail.headers,
    OutboxEmail.text_body,
    OutboxEmail.html_body,
)


class _Outcomes:
    """A batch's results, written as one bulk UPDATE per kind of outcome, in one commit."""

    def __init__(self):
        self.sent_ids: list[int] = []
        self.sent_at: datetime | None = None
        self.failures: list[dict] = []  # each row's own reply and back-off

    def sent(self, row_id: int, reply: str, at: datetime) -> None:
        self.sent_ids.append(row_id)
        self.sent_at = at
        self.reply = reply

    def failed(self, row_id: int, reply: str, at: datetime) -> None:
        self.failures.append(
            {"b_id": row_id, "b_status": "failed", "b_reply": reply, "b_failed": at, "b_next": None}
        )

    def later(self, row_id: int, attempts: int, reply: str, at: datetime, gave_up: bool) -> None:
        # Back-off counted from the failed attempt itself, not from the tick's start.
        self.failures.append(
            {
                "b_id": row_id,
                "b_status": "failed" if gave_up else "pending",
                "b_reply": reply,
                "b_failed": at if gave_up else None,
                "b_next": at + backoff(attempts),
            }
        )

    def commit(self, worker: str) -> None:
        mine = OutboxEmail.claimed_by == worker
        if self.sent_ids:
            db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id.in_(self.sent_ids), mine)
                .values(
                    status="sent",
                    sent_at=self.sent_at,
                    last_reply=self.reply,
                    attempts=OutboxEmail.attempts + 1,
                    lease_until=None,
                ),
                execution_options={"synchronize_session": False},
            )
        if self.failures:
            # One executemany UPDATE for every failed row, each with its own values.
            statement = (
                update(OutboxEmail)
                .where(OutboxEmail.id == bindparam("b_id"), mine)
                .values(
                    status=bindparam("b_status"),
                    last_reply=bindparam("b_reply"),
                    failed_at=bindparam("b_failed"),
                    next_attempt_at=func.coalesce(bindparam("b_next"), OutboxEmail.next_attempt_at),
                    attempts=OutboxEmail.attempts + 1,
                    lease_until=None,
                )
            )
            db.session.connection().execute(statement, self.failures)
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

    def send(self, message: Prepared) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / eml_name(message)
        path.write_bytes(message.data)
        return f"written to {path.name}"

    def close(self) -> None:
        pass


def eml_name(row: OutboxEmail | Prepared) -> str:
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

    def send(self, message: Prepared) -> str:
        """Send one message on the batch's connection; a stale connection is reopened once."""
        reused = self.smtp is not None
        try:
            return self._send(message)
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise TemporaryFailure("SMTPServerDisconnected: connection lost") from None
        # The server closed an idle connection before this message: one fresh attempt.
        try:
            return self._send(message)
        except smtplib.SMTPServerDisconnected as exc:
            raise TemporaryFailure(f"SMTPServerDisconnected: {exc}") from exc

    def _send(self, message: Prepared) -> str:
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            options = self._utf8_options() if message.utf8 else ()
            refused = self.smtp.sendmail(
                message.sender, [message.recipient], message.data, mail_options=options
            )
        except smtplib.SMTPRecipientsRefused as exc:
            # smtplib has sent RSET already: the connection stays usable for the next row.
            code, text = next(iter(exc.recipients.values()))
            self._drop_if_closing(code)
            raise _classify(code, text) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._drop_if_closing(exc.smtp_code)  # also RSET by smtplib
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPServerDisconnected:
            self._drop()
            raise
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:  # timeouts, refused, disconnects
            self._drop()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            code, text = next(iter(refused.values()))
            raise _classify(code, text)
        return "250 accepted"

    def _utf8_options(self) -> tuple[str, ...]:
        """An internationalised address needs the server's SMTPUTF8 (RFC 6531)."""
        self.smtp.ehlo_or_helo_if_needed()
        if not self.smtp.has_extn("smtputf8"):
            raise PermanentFailure("553 the server does not offer SMTPUTF8 for this address")
        return ("SMTPUTF8", "BODY=8BITMIME")

    def _drop_if_closing(self, code: int) -> None:
        if code == 421:  # "service closing": the server is hanging up
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
