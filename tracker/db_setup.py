"""Database engine hooks and column types shared by every model."""

import fcntl
import logging
import os
import sqlite3
import threading
from datetime import UTC

from flask import Flask
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
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
        elif app.config.get("SQLITE_WRITE_TURN", True):
            connect_args.setdefault("factory", TurnConnection)
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


# -- SQLite writers take turns, woken at once (docs/adr/0255) ---------------------------------
#
# SQLite has one write lock per database. A writer that finds it taken is put to sleep by
# SQLite's busy handler for 1, 2, 5, 10, 15, 20, 25 ... ms between attempts, whatever the
# holder does: a lock held 2 ms costs the second writer 3 or 8 ms, and a writer that
# arrives during those sleeps takes the lock first. So before a connection's first write
# of a transaction (an INSERT, UPDATE, DELETE or REPLACE outside a transaction, or a
# BEGIN IMMEDIATE / EXCLUSIVE) it takes an exclusive flock on `<database>-turn`, blocking
# in the kernel, and lets go right after its COMMIT or ROLLBACK: the next writer wakes as
# the lock is released. The kernel drops a flock when its process dies, so a SIGKILLed
# holder frees the turn. A connection whose process already holds the turn on another
# connection does not wait for it (it would wait for itself), and a turn not had within
# TURN_TIMEOUT is given up: then SQLite's own lock and busy handler decide, as before.

TURN_TIMEOUT = 30.0  # seconds; the busy timeout SQLite connections are given (init_app)
_WRITE_HEADS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")
_turns_lock = threading.Lock()


def _starts_write(sql: str) -> bool:
    return sql.lstrip()[:15].upper().startswith(_WRITE_HEADS)


class _Turn:
    """One process's handle on a database's turn file: its descriptor and who holds it."""

    def __init__(self, path: str):
        self.pid, self.path = os.getpid(), path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.holder = None  # the connection of this process that holds the turn


_turns: dict[str, _Turn] = {}  # turn file -> this process's handle on it


def _lock_within(turn: _Turn, timeout: float) -> bool:
    """Take the exclusive flock of the turn; False if other processes kept it `timeout` s.

    Uncontended: one non-blocking call. Contended: a helper thread opens the file again
    and blocks in the kernel on that descriptor (a flock wait has no timeout of its own);
    the caller waits for it at most `timeout`, then takes its descriptor over. A helper
    that gets the lock after the caller gave up closes its descriptor, which releases it.
    """
    try:
        fcntl.flock(turn.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    got, done = threading.Event(), threading.Lock()
    handed, abandoned = [], []

    def wait_in_kernel():
        fd = os.open(turn.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        with done:
            if abandoned:
                os.close(fd)
            else:
                handed.append(fd)
                got.set()

    threading.Thread(target=wait_in_kernel, name="sqlite-write-turn", daemon=True).start()
    try:
        got.wait(timeout)
    except BaseException:  # interrupted: nobody may keep the lock on our behalf
        with done:
            abandoned.append(True)
            if handed:
                os.close(handed.pop())
        raise
    with done:
        fd = handed.pop() if handed else None
        if fd is None:
            abandoned.append(True)
    if fd is None:
        return False
    os.close(turn.fd)  # not locked, and no other connection of this process uses it now
    turn.fd = fd
    return True


class TurnCursor(sqlite3.Cursor):
    def execute(self, sql, parameters=(), /):
        if not self.connection.in_transaction and _starts_write(sql):
            self.connection.take_turn()
        return super().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        if not self.connection.in_transaction and _starts_write(sql):
            self.connection.take_turn()
        return super().executemany(sql, seq_of_parameters)


class TurnConnection(sqlite3.Connection):
    """A SQLite connection that takes its database's write turn before its first write
    of a transaction and gives it back when the transaction ends (see above)."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        name = os.fspath(database)
        if isinstance(name, bytes):
            name = os.fsdecode(name)
        memory = name in ("", ":memory:") or name.startswith("file:")
        self.turn_file = None if memory else os.path.abspath(name) + "-turn"
        self.holds_turn = None  # the _Turn held, or None

    def cursor(self, factory=TurnCursor):
        return super().cursor(factory)

    def execute(self, sql, parameters=(), /):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        return self.cursor().executemany(sql, seq_of_parameters)

    def take_turn(self) -> None:
        if self.holds_turn or self.turn_file is None:
            return
        with _turns_lock:
            turn = _turns.get(self.turn_file)
            if turn is None or turn.pid != os.getpid():  # none yet, or inherited by a fork
                turn = _turns[self.turn_file] = _Turn(self.turn_file)
            if turn.holder is not None:
                return  # held by this process on another connection
            turn.holder = self
        got = False
        try:
            got = _lock_within(turn, TURN_TIMEOUT)
        finally:
            if not got:
                with _turns_lock:
                    turn.holder = None
        if got:
            self.holds_turn = turn
        else:
            log.warning("no write turn on %s within %.0f s", self.turn_file, TURN_TIMEOUT)

    def give_turn(self) -> None:
        turn = getattr(self, "holds_turn", None)
        if turn is None:
            return
        self.holds_turn = None
        fcntl.flock(turn.fd, fcntl.LOCK_UN)
        with _turns_lock:
            turn.holder = None

    def commit(self):
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self.give_turn()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self.give_turn()

    def close(self):
        try:
            super().close()
        finally:
            self.give_turn()

    def __del__(self):  # a connection dropped without a close never keeps the turn
        self.give_turn()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL for concurrent readers, foreign keys on, and a busy timeout."""
    if not isinstance(dbapi_connection, sqlite3.Connection):  # TurnConnection included
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
