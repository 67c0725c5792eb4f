"""Delivering the outbox: SMTP when configured, else .eml files in MAIL_DIR; retries with backoff.

SMTP 4xx replies, timeouts and dropped connections are temporary: the row is tried again
later (exponential backoff). 5xx replies are permanent: the row is marked failed and
never retried. Either way the last reply is kept for the admin outbox page.
"""

from __future__ import annotations

import functools
import logging
import re
import smtplib
import socket
import ssl
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.pool import StaticPool

from tracker.core import clock, failures
from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.notifications import circuits
from tracker.notifications.mime import InvalidMessage, Prepared, Sender, prepare
from tracker.scheduling import claims

log = logging.getLogger(__name__)
BATCH = 200
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=2)


class TemporaryFailure(Exception):
    """Try again later (4xx, timeout, connection trouble)."""


class ServerUnreachable(TemporaryFailure):
    """Not this message but the server: it could not be reached, or timed out.

    Trips the step's circuit breaker (ADR 0204). The text says what happened in words
    ("timed out after 3 s", "connection refused", "TLS failed: ...").
    """


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

    Each batch goes over one SMTP connection; every outcome is committed as it happens
    (in small groups, ADR 0205), and the lease of the batch's unfinished rows is renewed
    as it goes (ADR 0163). A claim is as large as this process can send within one
    lease at the pace it has seen (ADR 0206), so a second scheduler gets its share of a
    slow server. A server that cannot be reached or times out trips the step's circuit
    breaker (ADR 0204): the rest of the batch is released uncharged and nothing more is
    tried until the breaker's delay has passed, then one message probes.

    Once a batch has gone through and more is due, up to MAIL_CONNECTIONS - 1 further
    senders (threads, each its own connection, claims and session) drain the outbox
    beside this one (ADR 0248): SMTP is lock-step, so one connection leaves the server
    idle while the tracker builds and records, and the tracker idle while the server
    answers. A trip in any of them stops them all, and the breaker is tripped once.
    They share the batch and the group of unrecorded outcomes: together they hold at
    most MAIL_BATCH rows and leave at most nine messages unrecorded, as one did.
    """
    config = current_app.config
    limit = limit or int(config.get("MAIL_BATCH") or BATCH)
    lease = lease_for(config)
    sender = Sender(config["MAIL_SENDER"])  # a bad MAIL_SENDER fails the step, claims nothing
    circuit = circuits.get(circuits.SMTP) if config.get("SMTP_HOST") else None
    if circuit is not None and circuit.is_open(max(now, clock.now())):
        failures.note(circuit.describe())
        return 0  # the server is resting: nothing claimed, nothing charged
    connections = _connections(config)
    shared = _Shared(Recorder.share(connections))
    transport = transport_for(config)
    run = _Run(sender, transport, lease, pace_for(config), circuit is not None, shared)
    helpers: list[_Helper] = []
    try:
        more = _drain(run, now, limit, shared, first=True)
        extra = connections - 1 if more else 0
        # From here the senders share the batch: the process holds at most MAIL_BATCH
        # rows, as one sender did (ADR 0160).
        limit = max(1, limit // (extra + 1))
        helpers = [_Helper(now, limit, sender, lease, shared) for _ in range(extra)]
        for helper in helpers:
            helper.start()
        if more:
            _drain(run, now, limit, shared)
    finally:
        transport.close()
        _join(helpers)
    return run.sent + sum(helper.sent for helper in helpers)


def _join(helpers: list[_Helper]) -> None:
    """Wait for every further sender, count their failures in this step, then raise the
    first exception one of them raised (as the step's own would be)."""
    errors = [helper.join() for helper in helpers]
    error = next((e for e in errors if e is not None), None)
    if error is not None:
        raise error


def _drain(run: _Run, now: datetime, limit: int, shared: _Shared, first: bool = False) -> bool:
    """Claim and send batches until one comes back short, the breaker trips or the
    scheduler stops; with `first`, return after the first full batch of more than the
    one message that probes the server or measures the pace. Returns whether more may be
    due (the last claim was full and nothing tripped)."""
    while not claims.stopping.is_set() and not shared.halted.is_set():
        size = 1 if run.probing else run.pace.claim_size(limit, run.lease)
        worker, ids = claims.claim(
            OutboxEmail, OutboxEmail.next_attempt_at, now, limit=size, lease=run.lease
        )
        if ids:
            run.deliver(ids, worker)
        if run.tripped or len(ids) < size:
            return False
        if first and size > 1:
            return True  # a full batch beyond the probe or pace's first message
    return False


def _connections(config) -> int:
    """How many connections may send at once: MAIL_CONNECTIONS for an SMTP server; one
    for files, and one on a database whose pool is one shared connection (in-memory
    SQLite), which two threads must not use at once."""
    if not config.get("SMTP_HOST") or isinstance(db.engine.pool, StaticPool):
        return 1
    return max(1, int(config.get("MAIL_CONNECTIONS") or 1))


class _Shared:
    """What the senders of one delivery step share: whether to stop (the breaker tripped
    in one of them), a lock so that the breaker is tripped once, not once a sender, and
    each sender's group of outcomes recorded together (`Recorder.share`)."""

    def __init__(self, group: int) -> None:
        self.group = group
        self.halted = threading.Event()
        self._lock = threading.Lock()

    def trip(self, reason: str) -> None:
        with self._lock:
            if not self.halted.is_set():
                circuits.trip(circuits.SMTP, reason)
                self.halted.set()


class _Helper:
    """A further sender of one delivery step: its own thread, app context (so its own
    session), connection and claims (its own worker id); its failures are counted in
    the step when it is joined, and an exception it raised is raised there."""

    def __init__(self, now, limit: int, sender: Sender, lease: timedelta, shared: _Shared):
        self.app = current_app._get_current_object()
        self.args = now, limit, sender, lease, shared
        self.sent = 0
        self.seen: failures.Failures | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="delivery-sender", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        now, limit, sender, lease, shared = self.args
        with self.app.app_context(), failures.collect() as self.seen:
            config = self.app.config
            transport = transport_for(config)
            run = _Run(sender, transport, lease, pace_for(config), False, shared)
            try:
                _drain(run, now, limit, shared)
            except BaseException as exc:  # raised in the step's thread when joined
                log.exception("delivery: a sender failed")
                self.error = exc
            finally:
                transport.close()
                self.sent = run.sent

    def join(self) -> BaseException | None:
        """Wait for it; count its failures in the running step; what it raised, if anything."""
        self.thread.join()
        if self.seen is not None:
            failures.absorb(self.seen)
        return self.error


class Pace:
    """How long this process has taken per message lately (a moving average), and so how
    many rows it should hold: what it can send in a third of a lease (ADR 0206).

    Unknown at first: the first claim is one message, which measures it. Should the
    server slow down in the middle of a batch, the rows beyond the new pace are given
    back at once (`_Run._give_back_beyond_pace`).
    """

    WEIGHT = 0.3  # of the newest message in the average

    def __init__(self) -> None:
        self.seconds: float | None = None

    def observe(self, seconds: float) -> None:
        seconds = max(seconds, 1e-4)
        if self.seconds is None:
            self.seconds = seconds
        else:
            self.seconds += self.WEIGHT * (seconds - self.seconds)

    def claim_size(self, limit: int, lease: timedelta) -> int:
        """What this process can send in a third of a lease (one heartbeat interval), at
        least one: small enough that others share a slow server to the end, and the
        rows of a process that dies wait one lease at most."""
        if self.seconds is None:
            return 1  # the probe that measures it
        return max(1, min(limit, int(lease.total_seconds() / 3 / self.seconds)))


def pace_for(config) -> Pace:
    """This app's pace for its mail server (kept for the life of the process)."""
    key = f"{config.get('SMTP_HOST') or 'files'}:{config.get('SMTP_PORT')}"
    paces = current_app.extensions.setdefault("tracker.delivery_pace", {})
    return paces.setdefault(key, Pace())


class _Run:
    """One delivery step's batches: counts, the pace, and whether the breaker tripped."""

    def __init__(
        self, sender: Sender, transport, lease: timedelta, pace: Pace, probing: bool, shared
    ):
        self.sender, self.transport, self.lease, self.pace = sender, transport, lease, pace
        self.probing, self.shared = probing, shared
        self.tripped = False
        self.sent = 0

    def deliver(self, ids: list[int], worker: str) -> None:
        """Send one claimed batch, each message built once as bytes, each outcome recorded
        as it happens; the rows not reached are released."""
        rows = db.session.execute(
            select(*_COLUMNS)
            .where(OutboxEmail.id.in_(ids), OutboxEmail.claimed_by == worker)
            .where(OutboxEmail.status == "pending")
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        ).all()
        db.session.rollback()  # end the read transaction: nothing is held while SMTP talks
        record = Recorder(worker, self.shared.group)
        work = []
        for row in rows:
            try:
                work.append((row.id, row.attempts, prepare(row, self.sender)))
            except InvalidMessage as exc:  # nothing any server could accept: give up at once
                record.failed(row.id, str(exc), clock.now())
                failures.record("email", row.id, f"{exc} (given up)")
        remaining = [row_id for row_id, *_ in work]
        try:
            with claims.Heartbeat(OutboxEmail, remaining, worker, self.lease) as heartbeat:
                record.heartbeat = heartbeat
                for row_id, attempts, message in work:
                    if row_id not in remaining:
                        break  # given back (beyond this process's pace), like all after it
                    if claims.stopping.is_set() or self.shared.halted.is_set():
                        break  # clean stop, or another sender tripped the breaker
                    if not record.flush_if_due():
                        break  # the database is away: record and release
                    if not heartbeat.ensure():
                        break  # the lease could not be kept: send nothing we may not own
                    remaining.remove(row_id)
                    if not self._send_one(record, row_id, attempts, message):
                        break  # the server is unreachable: the breaker is open
                    self._give_back_beyond_pace(remaining, worker, heartbeat)
            if heartbeat.lost:
                log.warning(
                    "delivery: lost the lease on %d rows (%d sent, not yet recorded)",
                    len(heartbeat.lost),
                    len(heartbeat.lost & record.unwritten()),
                )
        finally:
            record.flush(final=True)
            record.close()
            _release(remaining, worker)
        self.sent += record.sent_count

    def _give_back_beyond_pace(self, remaining: list[int], worker: str, heartbeat) -> None:
        """Release at once the rows beyond what this process sends in a third of a lease at
        its pace, so another scheduler can take them (the tail of the batch, in due order)."""
        keep = self.pace.claim_size(len(remaining) + 1, self.lease)
        if len(remaining) <= keep:
            return
        extra = remaining[keep:]
        del remaining[keep:]
        heartbeat.finish(set(extra), lambda: _release(extra, worker))

    def _send_one(self, record: Recorder, row_id: int, attempts: int, message: Prepared) -> bool:
        """One message; its outcome is recorded. False when the breaker tripped."""
        started = time.monotonic()
        try:
            reply = self.transport.send(message)
        except PermanentFailure as exc:
            record.failed(row_id, str(exc), clock.now())
            failures.record("email", row_id, f"{exc} (given up)")
        except TemporaryFailure as exc:
            gave_up = attempts + 1 >= MAX_ATTEMPTS
            record.later(row_id, attempts + 1, str(exc), clock.now(), gave_up)
            later = f"given up after {MAX_ATTEMPTS} attempts" if gave_up else "retried later"
            failures.record("email", row_id, f"{exc} ({later})")
            if isinstance(exc, ServerUnreachable):
                self.tripped = True
                self.pace.seconds = None  # measured again once the server is back
                self.shared.trip(f"mail server {exc}")
                return False
        else:
            record.sent(row_id, reply, clock.now())
            if self.probing:  # the probe got through: the breaker closes
                circuits.close(circuits.SMTP)
                self.probing = False
        self.pace.observe(time.monotonic() - started)
        return True


def _release(ids: list[int], worker: str) -> None:
    """Give unstarted rows back (uncharged); if the database is away their lease runs out."""
    try:
        claims.release(OutboxEmail, ids, worker)
    except Exception:
        log.warning("delivery: could not release %d rows; their lease will run out", len(ids))


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


class Recorder:
    """Each outcome written as it happens, on its own connection (ADR 0205).

    Outcomes are written together once GROUP of them are waiting or WAIT seconds have
    passed since the last write, whichever is first, checked before each message: a
    slow server (a message taking WAIT or more) has every message recorded on its own.
    So a crash or a database outage leaves at most GROUP sent-but-unrecorded messages
    plus the one in flight: those, and only those, are sent again, with the same Message-ID.
    A step sending over several connections gives each a smaller group (`share`), so the
    process's bound stays GROUP + 1.

    A write that fails (the database is away) keeps the outcomes and answers False, so
    the sender stops; the final flush retries for a while before giving up (the rows
    are then sent again after their lease).
    """

    GROUP = 8
    WAIT = 0.2  # seconds
    FINAL_TRIES = (0.5, 1, 2, 4, 8)  # seconds between the final flush's attempts

    def __init__(self, worker: str, group: int = GROUP):
        self.worker, self.group = worker, group
        self._conn = None  # kept for the batch: a write is then no pool checkout or ping
        self.heartbeat: claims.Heartbeat | None = None
        self.waiting: list[dict] = []
        self.written_at = time.monotonic()
        self.sent_count = 0
        self.healthy = True

    def sent(self, row_id: int, reply: str, at: datetime) -> None:
        self._add(row_id, "sent", reply, sent=at)
        self.sent_count += 1

    def failed(self, row_id: int, reply: str, at: datetime) -> None:
        self._add(row_id, "failed", reply, failed=at)

    def later(self, row_id: int, attempts: int, reply: str, at: datetime, gave_up: bool) -> None:
        # Back-off counted from the failed attempt itself, not from the tick's start.
        if gave_up:
            self._add(row_id, "failed", reply, failed=at)
        else:
            self._add(row_id, "pending", reply, next_at=at + backoff(attempts))

    def _execute(self, rows: list[dict]) -> None:
        if self._conn is None:
            self._conn = _outcomes_connection()
        _write_outcomes(rows, self.worker, self._conn)

    def close(self) -> None:
        """Give the connection the outcomes were written on back (end of the batch)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # the database is away: nothing to give back
                log.debug("delivery: closing the outcomes' connection failed", exc_info=True)

    def _add(self, row_id, status, reply, *, sent=None, failed=None, next_at=None) -> None:
        self.waiting.append(
            {
                "b_id": row_id,
                "b_status": status,
                "b_reply": reply,
                "b_sent": sent,
                "b_failed": failed,
                "b_next": next_at,
            }
        )

    @classmethod
    def share(cls, senders: int) -> int:
        """The group of each of `senders` senders of one step (ADR 0248), so that what
        they may leave unrecorded together (each its group and a message in flight)
        stays within one sender's GROUP + 1 = 9, up to 4 senders (beyond, 2 each)."""
        return max(1, (cls.GROUP + 1) // senders - 1)

    def unwritten(self) -> set[int]:
        return {row["b_id"] for row in self.waiting}

    def flush_if_due(self) -> bool:
        """Write what is waiting if it is time; False while the database cannot be written."""
        if not self.waiting:
            return self.healthy
        if len(self.waiting) >= self.group or time.monotonic() - self.written_at >= self.WAIT:
            return self.flush()
        return self.healthy

    def flush(self, *, final: bool = False) -> bool:
        tries = (0, *self.FINAL_TRIES) if final and self.waiting else (0,)
        for pause in tries:
            if pause:
                time.sleep(pause)
            if self._write():
                return True
        if final and self.waiting:
            log.error(
                "delivery: %d outcomes could not be recorded; those rows are sent again",
                len(self.waiting),
            )
        return False

    def _write(self) -> bool:
        if not self.waiting:
            return True
        rows, ids = list(self.waiting), {row["b_id"] for row in self.waiting}
        try:
            if self.heartbeat is not None:
                self.heartbeat.finish(ids, lambda: self._execute(rows))
            else:
                self._execute(rows)
        except Exception as exc:
            self.close()  # a broken connection is not used again; the next write opens one
            self.healthy = False
            log.warning("delivery: recording %d outcomes failed: %s", len(rows), exc)
            return False
        self.waiting, self.written_at, self.healthy = [], time.monotonic(), True
        return True


def _outcomes_connection():
    """The recorder's own connection (never the session's). On PostgreSQL it autocommits:
    the group's UPDATEs go out in one pipeline ended by one Sync, which the server runs
    as one implicit transaction, so a group is one round trip instead of two (the
    UPDATEs, then COMMIT) and no BEGIN/COMMIT statements for the server to run."""
    conn = db.engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def _write_outcomes(rows: list[dict], worker: str, conn) -> None:
    """The group's outcomes in one statement on the recorder's connection.

    On PostgreSQL one UPDATE ... FROM (VALUES ...) for the whole group, sent as SQL
    written once per group size (`exec_driver_sql`): with three senders (ADR 0248) a
    group of two is written every two messages, and an executemany through SQLAlchemy
    (cache key, bind processing of every row, psycopg's pipeline) cost more of the
    tracker's CPU than sending the message itself (~270 -> ~125 µs a message,
    docs/benchmarks.md, remind32). The values are already what psycopg sends: aware
    UTC datetimes, plain strings. SQLite's datetimes need the dialect's bind processing
    (and an executemany there is in process), so there the Core UPDATE goes as before."""
    if conn.dialect.name == "postgresql":
        values = [row[key] for row in rows for key in _OUTCOME_KEYS]
        conn.exec_driver_sql(_outcomes_values_sql(len(rows)), (*values, worker))
    else:
        conn.execute(_outcomes_statement(), [dict(row, b_worker=worker) for row in rows])
    conn.commit()


# What each waiting outcome holds, in the order of the VALUES columns below.
_OUTCOME_KEYS = ("b_id", "b_status", "b_reply", "b_sent", "b_failed", "b_next")


def _outcomes_values_sql(size: int) -> str:
    """PostgreSQL's UPDATE of `size` outcomes, the same change as `_outcomes_statement`
    (tests/notifications/test_delivery_outcomes.py writes both ways and compares)."""
    found = _values_sql.get(size)
    if found is None:
        row = "(%s::integer, %s::varchar, %s::text, " + ", ".join(["%s::timestamptz"] * 3) + ")"
        found = _values_sql[size] = (
            "UPDATE outbox_email SET status = v.status, last_reply = v.reply,"
            " sent_at = v.sent, failed_at = v.failed,"
            " next_attempt_at = coalesce(v.next, outbox_email.next_attempt_at),"
            " attempts = outbox_email.attempts + 1, lease_until = NULL"
            f" FROM (VALUES {', '.join([row] * size)}) AS v (id, status, reply, sent, failed, next)"
            " WHERE outbox_email.id = v.id AND outbox_email.claimed_by = %s"
        )
    return found


_values_sql: dict[int, str] = {}


@functools.cache
def _outcomes_statement():
    """The outcomes' UPDATE, built once per process (ADR 0238): building it cost more
    than executing it for a group of eight rows."""
    return (
        update(OutboxEmail)
        .where(OutboxEmail.id == bindparam("b_id"), OutboxEmail.claimed_by == bindparam("b_worker"))
        .values(
            status=bindparam("b_status"),
            last_reply=bindparam("b_reply"),
            sent_at=bindparam("b_sent", type_=OutboxEmail.sent_at.type),
            failed_at=bindparam("b_failed", type_=OutboxEmail.failed_at.type),
            next_attempt_at=func.coalesce(
                bindparam("b_next", type_=OutboxEmail.next_attempt_at.type),
                OutboxEmail.next_attempt_at,
            ),
            attempts=OutboxEmail.attempts + 1,
            lease_until=None,
        )
    )


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
            smtp = _SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = _SMTP(host, port, timeout=timeout)
        try:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            # Small SMTP commands otherwise wait on Nagle + delayed ACK (~40 ms a message).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if c.get("SMTP_USERNAME"):
                smtp.login(c["SMTP_USERNAME"], c.get("SMTP_PASSWORD") or "")
        except BaseException:
            smtp.close()  # no half-opened connection left behind
            raise
        return smtp

    def send(self, message: Prepared) -> str:
        """Send one message on the batch's connection; a stale connection is reopened once."""
        reused = self.smtp is not None
        try:
            return self._send(message)
        except smtplib.SMTPServerDisconnected as exc:
            if not reused:
                raise TemporaryFailure(self._why(exc)) from None
        # The server closed an idle connection before this message: one fresh attempt.
        try:
            return self._send(message)
        except smtplib.SMTPServerDisconnected as exc:
            raise TemporaryFailure(self._why(exc)) from exc

    def _open(self) -> smtplib.SMTP:
        """Connect, greet, start TLS and log in; any trouble is the server's, in words."""
        try:
            return self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise ServerUnreachable(self._why(exc)) from exc

    def _why(self, exc: BaseException) -> str:
        """What went wrong, as a person would say it (not the exception's class name)."""
        timeout = float(self.config["SMTP_TIMEOUT"])
        where = f"{self.config['SMTP_HOST']}:{self.config['SMTP_PORT']}"
        chain = _chain(exc)
        if any(isinstance(e, TimeoutError) for e in chain):
            return f"timed out after {timeout:g} s ({where})"
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return f"connection refused ({where})"
        tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
        if tls is not None:
            return f"TLS failed: {tls.reason or tls} ({where})"
        if isinstance(exc, smtplib.SMTPNotSupportedError) and "STARTTLS" in str(exc):
            return f"TLS failed: the server does not offer STARTTLS ({where})"
        if any(isinstance(e, socket.gaierror) for e in chain):
            return f"host not found ({where})"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return f"login refused: {exc.smtp_code} {_text(exc.smtp_error)} ({where})"
        if isinstance(exc, smtplib.SMTPResponseException):
            return f"{exc.smtp_code} {_text(exc.smtp_error)} ({where})"
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return f"connection closed by the server ({where})"
        return f"{type(exc).__name__}: {exc} ({where})"

    def _send(self, message: Prepared) -> str:
        if self.smtp is None:
            self.smtp = self._open()
        try:
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
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            if any(isinstance(e, TimeoutError) for e in _chain(exc)):
                raise ServerUnreachable(self._why(exc)) from exc  # hung mid-message
            raise
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:  # timeouts, resets
            self._drop()
            if any(isinstance(e, TimeoutError) for e in _chain(exc)):
                raise ServerUnreachable(self._why(exc)) from exc
            raise TemporaryFailure(self._why(exc)) from exc
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


# A plain addr-spec: what smtplib's quoting (email.utils.parseaddr) returns unchanged.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\Z")


def _quoted(address: str) -> str:
    """`<address>` for the envelope, as `smtplib.quoteaddr` writes it."""
    if _PLAIN_ADDRESS.match(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


class _Envelope:
    """MAIL FROM and RCPT TO as smtplib sends them, but a plain address is quoted without
    the email package's RFC 822 parser: `quoteaddr` parsed both addresses of every
    message, a fifth of delivery's CPU (cProfile, docs/benchmarks.md). Anything else
    still goes through `quoteaddr`; options and SMTPUTF8 are handled as smtplib does."""

    def mail(self, sender, options=()):
        optionlist = ""
        if options and self.does_esmtp:
            if any(option.lower() == "smtputf8" for option in options):
                if not self.has_extn("smtputf8"):
                    raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")
                self.command_encoding = "utf-8"
            optionlist = " " + " ".join(options)
        self.putcmd("mail", f"FROM:{_quoted(sender)}{optionlist}")
        return self.getreply()

    def rcpt(self, recip, options=()):
        optionlist = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("rcpt", f"TO:{_quoted(recip)}{optionlist}")
        return self.getreply()


class _SMTP(_Envelope, smtplib.SMTP):
    pass


class _SMTP_SSL(_Envelope, smtplib.SMTP_SSL):  # noqa: N801 (smtplib's name)
    pass


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what it was raised from or during (smtplib wraps timeouts)."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 5:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _text(text) -> str:
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


def _classify(code: int, text) -> Exception:
    text = _text(text)
    reply = f"{code} {text}"
    return PermanentFailure(reply) if 500 <= code < 600 else TemporaryFailure(reply)
