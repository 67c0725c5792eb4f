"""Database engine hooks and column types shared by every model."""

import fcntl
import logging
import os
import sqlite3
import threading
import time
from contextlib import closing
from datetime import UTC

from flask import Flask
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.selectable import CompoundSelect, Select
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones, so naive values come back from it; this type
    refuses naive input and re-attaches UTC on the way out, on both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def init_app(app: Flask) -> None:
    """Give SQLite a single shared connection in memory and sane timeouts elsewhere."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        connect_args = options.setdefault("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 30)
        if uri in ("sqlite://", "sqlite:///:memory:"):
            options.setdefault("poolclass", StaticPool)
        else:
            connect_args.setdefault("factory", QueuedWriters)
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL for concurrent readers, foreign keys on, and a busy timeout."""
    if not isinstance(dbapi_connection, sqlite3.Connection):  # a subclass (factory=) too
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# -- SQLite's writers queue in the kernel, not in its busy handler -----------------------
#
# SQLite lets one transaction write at a time. A connection that finds the write lock taken
# calls its busy handler, which sleeps 1, 2, 5, 10 ... ms between tries and never learns
# when the lock was let go: with two workers, a write that came while another was in flight
# (~1.5 ms) waited 1 + 2 ms or more. So, before the statement that begins a write
# transaction, a connection to a database file takes the writers' turn: a lock per database
# in its process, then flock() on `<file>-writers`, on which the kernel wakes the next
# writer the moment the last one commits or rolls back. Every wait ends at the busy timeout
# with "database is locked", as SQLite's does (two connections of one thread fail, never
# hang): the process lock has a timeout, and a flock() wait, which has none, is made by a
# thread of the process that hands the turn over. The file lock goes with its process if
# that dies. A writer that does not take the turn (the sqlite3 shell, another program, a
# process that cannot open the file) is still kept out by SQLite's own lock.
#
# SQLite checkpoints the WAL inside the COMMIT that takes it past 1,000 pages: 15-25 ms of
# copying and fsync() here, paid by that request and, held inside the turn, by the next
# writer too. So these connections checkpoint after the turn is let go: on a thread of
# their process every CHECKPOINT_EVERY write commits (about as often as SQLite would), and
# in the committing thread once the WAL file is past WAL_LIMIT_BYTES (a bulk load, where
# the thread could fall behind); journal_size_limit shrinks the file back. docs/adr/0262.

_BEGINS_WRITE = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN")
CHECKPOINT_EVERY = 64  # write commits; an update writes ~18 pages, SQLite's default 1,000
WAL_LIMIT_BYTES = 64 * 1024 * 1024  # also the file's size after a checkpoint lets it restart


class _Turn:
    """One database file's writers' turn in this process, and its checkpointer."""

    def __init__(self, path: str):
        self.path = path
        self.local = threading.Lock()  # the turn among this process's connections
        self.fd: int | None = None
        self.held: int | None = None  # the descriptor whose flock is the turn, while held
        self.pid = 0
        # A wait for another process: the waiter thread blocks in flock() on a descriptor
        # of its own and hands the turn over; a caller who gave up is never handed it.
        self.handover = threading.Condition()
        self.waiter: threading.Thread | None = None
        self.waiter_fd: int | None = None
        self.asked = self.granted = self.gave_up = 0
        self.unusable = False  # the lock file could not be opened: SQLite's lock alone
        self.commits = 0  # write commits since the last checkpoint asked for
        self.wanted = threading.Event()
        self.checkpointer: threading.Thread | None = None
        self.checkpoints = 0  # run by the checkpointer, in this process

    def take(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds in all for the turn (raises "database is locked");
        False, and no turn, if the lock file cannot be had (SQLite's own lock still holds)."""
        deadline = time.monotonic() + timeout
        if self.unusable:
            return False
        if not self.local.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            if self.fd is None or self.pid != os.getpid():  # first use, or a forked child
                self.fd, self.pid, self.waiter = self._open(), os.getpid(), None
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = self.fd
            except BlockingIOError:  # another process writes
                self._wait_for_another_process(deadline - time.monotonic())
        except OSError:  # a directory this process may not write in, a foreign owner
            self.local.release()
            self.unusable = True
            log.warning("no write turn for %s; SQLite's lock alone", self.path, exc_info=True)
            return False
        except BaseException:
            self.local.release()
            raise
        return True

    def give(self) -> None:
        try:
            fcntl.flock(self.held, fcntl.LOCK_UN)
        finally:
            self.held = None
            self.local.release()

    def _open(self) -> int:
        """The lock file, made as SQLite makes the WAL: the database file's mode and owner."""
        database = os.stat(self.path)
        fd = os.open(self.path + "-writers", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if os.fstat(fd).st_uid == os.geteuid():
                os.fchmod(fd, database.st_mode & 0o666)
                if os.geteuid() == 0:
                    os.fchown(fd, database.st_uid, database.st_gid)
        except OSError:
            log.warning("could not give %s-writers its database's owner", self.path)
        return fd

    def _wait_for_another_process(self, timeout: float) -> None:
        with self.handover:
            self.asked += 1
            mine = self.asked
            if self.waiter is None or not self.waiter.is_alive():
                self.waiter_fd = self._open()
                self.waiter = threading.Thread(
                    target=self._wait_in_kernel,
                    args=(self.waiter_fd, mine - 1),
                    name="sqlite-write-turn",
                    daemon=True,
                )
                self.waiter.start()
            self.handover.notify_all()
            if not self.handover.wait_for(lambda: self.granted == mine, max(timeout, 0.0)):
                self.gave_up = mine
                raise sqlite3.OperationalError("database is locked")
        self.held = self.waiter_fd

    def _wait_in_kernel(self, fd: int, served: int) -> None:
        while True:
            with self.handover:
                while self.asked <= served:
                    self.handover.wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
            with self.handover:
                served = self.asked  # the one caller waiting now, if it has not given up
                if self.gave_up == served:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                else:
                    self.granted = served
                    self.handover.notify_all()

    def after_commit(self) -> None:
        """After a write's turn: a checkpoint on the thread every CHECKPOINT_EVERY commits,
        or here and now once the WAL file is past WAL_LIMIT_BYTES (a bulk load)."""
        self.commits += 1
        try:
            large = os.stat(self.path + "-wal").st_size > WAL_LIMIT_BYTES
        except OSError:
            large = False
        if large:
            self.commits = 0
            self._checkpoint()
        elif self.commits >= CHECKPOINT_EVERY:
            self.commits = 0
            if self.checkpointer is None or not self.checkpointer.is_alive():  # or forked
                self.checkpointer = threading.Thread(
                    target=self._checkpoints, name="sqlite-checkpoint", daemon=True
                )
                self.checkpointer.start()
            self.wanted.set()

    def _checkpoints(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            self._checkpoint()

    def _checkpoint(self) -> None:
        """PASSIVE: copies what no reader still needs and waits for nobody. A connection of
        its own, closed after, so the process's last close still removes the WAL file."""
        try:
            with closing(sqlite3.connect(self.path, isolation_level=None)) as connection:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
            self.checkpoints += 1
        except sqlite3.Error:  # the next commit due one tries again
            log.warning("checkpointing %s failed", self.path, exc_info=True)


_turns: dict[str, _Turn] = {}
_turns_lock = threading.Lock()


def _turn_for(database) -> _Turn | None:
    path = os.fspath(database)
    if path in ("", ":memory:") or path.startswith("file:"):
        return None
    path = os.path.abspath(path)
    with _turns_lock:
        return _turns.setdefault(path, _Turn(path))


class QueuedWriters(sqlite3.Connection):
    """A connection to a database file whose write transactions take the writers' turn."""

    def __init__(self, database, *args, timeout: float = 5.0, **kwargs):
        super().__init__(database, *args, timeout=timeout, **kwargs)
        self._turn = _turn_for(database)
        self._turn_timeout = timeout
        self._has_turn = False
        if self._turn is not None:
            self.execute("PRAGMA wal_autocheckpoint=0")
            self.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")

    def take_turn(self) -> None:
        """Wait for this database's writers' turn (no-op if held or not a file)."""
        if self._turn is not None and not self._has_turn:
            self._has_turn = self._turn.take(self._turn_timeout)

    def _end_turn(self) -> bool:
        if not self._has_turn:
            return False
        self._has_turn = False
        self._turn.give()
        return True

    def commit(self):
        try:
            super().commit()
        finally:
            wrote = self._end_turn()
        if wrote:
            self._turn.after_commit()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._end_turn()

    def close(self):
        try:
            super().close()
        finally:
            self._end_turn()

    def __del__(self):  # dropped without a close: its process's other writers go on
        if getattr(self, "_has_turn", False):
            self._end_turn()


@event.listens_for(Engine, "before_cursor_execute")
def _take_writers_turn(conn, cursor, statement, parameters, context, executemany):
    dbapi = cursor.connection
    if (
        isinstance(dbapi, QueuedWriters)
        and not dbapi.in_transaction
        and statement.lstrip()[:7].upper().startswith(_BEGINS_WRITE)
    ):
        try:
            dbapi.take_turn()
        except sqlite3.OperationalError as error:  # as SQLite's own timeout reads: a 503
            raise OperationalError(statement, parameters, error) from error


# -- a request that only read ends its transaction with COMMIT --------------------------------
#
# Closing the session rolls its transaction back, and psycopg forgets every statement it
# has prepared on the connection at each ROLLBACK (a statement prepared in a transaction
# that failed may be gone on the server). So on PostgreSQL no statement a page sends was
# ever prepared: each was parsed and planned again, request after request (the engagement
# page's ~20 statements: ~12 ms of server time of ~21). A transaction that sent only
# SELECTs changed nothing, so COMMIT and ROLLBACK end it the same way; COMMIT keeps what
# psycopg prepared (after five runs of the same statement). docs/adr/0253.


def _only_selects(context) -> bool:
    compiled = getattr(context, "compiled", None)
    return compiled is not None and isinstance(compiled.statement, (Select, CompoundSelect))


@event.listens_for(Engine, "begin")
def _transaction_begins(conn):
    conn.info["wrote"] = False


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany):
    """Anything but a SELECT built with SQLAlchemy (DML, DDL, text, a flush) counts as a
    write, so only transactions known to have read alone are committed at the end."""
    if not _only_selects(context):
        conn.info["wrote"] = True


def finish_requests(app: Flask, db) -> None:
    """Register the end of a request's transaction; call after `db.init_app(app)`, so it
    runs before Flask-SQLAlchemy removes the session (teardowns run in reverse order)."""

    @app.teardown_appcontext
    def _commit_what_only_read(exc):
        if exc is None and db.session.registry.has():
            close_committing_reads(db.session())


def close_committing_reads(session) -> bool:
    """Close the session, its transaction ended with COMMIT if it sent only SELECTs and
    holds no pending change (True then); anything else is rolled back by the close."""
    committed = False
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        connection = session.connection()
        if connection.info.get("wrote") is False:
            try:
                connection.commit()
                committed = True
            except SQLAlchemyError:  # the connection is gone: the close discards it
                log.warning("ending a read-only transaction failed", exc_info=True)
    session.close()
    return committed
