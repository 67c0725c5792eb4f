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
from functools import partial
from pathlib import Path

from flask import current_app
from sqlalchemy import update

from tracker.core import failures
from tracker.core.claims import drain
from tracker.extensions import db
from tracker.models import OutboxEmail

log = logging.getLogger(__name__)
BATCH = 200
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=2)


class TemporaryFailure(Exception):
    """Try again later (4xx, timeout, connection trouble)."""


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


def deliver_due(now: datetime, *, limit: int = BATCH) -> int:
    """Claim due outbox rows batch by batch and send them; returns how many were delivered."""
    transport = transport_for(current_app.config)
    send_one = partial(_deliver_one, transport=transport, now=now)
    try:
        return drain(OutboxEmail, OutboxEmail.next_attempt_at, now, send_one, limit=limit)
    finally:
        transport.close()


def _deliver_one(row_id: int, worker: str, transport, now: datetime) -> int:
    row = db.session.get(OutboxEmail, row_id)
    if row is None or row.status != "pending" or row.claimed_by != worker:
        db.session.rollback()
        return 0
    message = build_message(row, current_app.config["MAIL_SENDER"])
    values: dict = {"attempts": row.attempts + 1, "lease_until": None}
    try:
        reply = transport.send(message, row)
        values.update(status="sent", sent_at=now, last_reply=reply)
    except PermanentFailure as exc:
        values.update(status="failed", failed_at=now, last_reply=str(exc))
        failures.record("email", row_id, f"{exc} (given up)")
    except TemporaryFailure as exc:
        gave_up = values["attempts"] >= MAX_ATTEMPTS
        values.update(last_reply=str(exc), next_attempt_at=now + backoff(values["attempts"]))
        if gave_up:
            values.update(status="failed", failed_at=now)
        later = f"given up after {MAX_ATTEMPTS} attempts" if gave_up else "retried later"
        failures.record("email", row_id, f"{exc} ({later})")
    db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == row_id, OutboxEmail.claimed_by == worker)
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    return int(values.get("status") == "sent")  # drain commits the row's outcome


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
            code, text = next(iter(exc.recipients.values()))
            raise _classify(code, text) from exc
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
