"""SQLite writers take turns on `<database>-turn` (docs/adr/0255): a write transaction holds
the turn from its first write to its COMMIT or ROLLBACK, a waiting writer is woken when it
is released, a killed holder frees it, and nothing waits for itself."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tracker import db_setup
from tracker.db_setup import TurnConnection
from tracker.extensions import db

ROOT = Path(__file__).resolve().parent.parent

# A second process: opens the database with the app's connection class and obeys one
# command per line on stdin: "write X" (a write left uncommitted), "commit", "flock"
# (the bare turn lock, no SQLite lock), "unflock"; it answers "ok" after each.
HOLDER = """
import fcntl, os, sys
from tracker.db_setup import TurnConnection
import sqlite3
conn = sqlite3.connect(sys.argv[1], timeout=30, factory=TurnConnection)
fd = None
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "write":
        conn.execute("INSERT INTO t(x) VALUES (?)", (arg,))
    elif cmd == "commit":
        conn.commit()
    elif cmd == "flock":
        fd = os.open(sys.argv[1] + "-turn", os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
    elif cmd == "unflock":
        os.close(fd)
    print("ok", flush=True)
"""


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "turns.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.commit()
    conn.close()
    return path


def _connect(path, timeout=30.0) -> TurnConnection:
    return sqlite3.connect(path, timeout=timeout, factory=TurnConnection)


def _turn_is_free(path) -> bool:
    """Whether another open file description can take the turn now (flock locks of two
    descriptions conflict even within one process)."""
    fd = os.open(f"{path}-turn", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


class Holder:
    def __init__(self, path):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def __call__(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


@pytest.fixture
def holder(database):
    made = Holder(database)
    yield made
    made.close()


def test_a_write_holds_the_turn_until_commit_rollback_or_close(database):
    conn = _connect(database)
    conn.execute("SELECT count(*) FROM t").fetchall()
    assert _turn_is_free(database)  # reading takes no turn

    conn.execute("INSERT INTO t(x) VALUES ('a')")
    assert not _turn_is_free(database)
    conn.execute("UPDATE t SET x = 'b'")  # still the same transaction, same turn
    conn.commit()
    assert _turn_is_free(database)

    conn.executemany("INSERT INTO t(x) VALUES (?)", [("c",), ("d",)])
    assert not _turn_is_free(database)
    conn.rollback()
    assert _turn_is_free(database)

    conn.execute("BEGIN IMMEDIATE")  # the scheduler's claims start their writes this way
    assert not _turn_is_free(database)
    conn.close()
    assert _turn_is_free(database)
    check = sqlite3.connect(database)
    assert check.execute("SELECT x FROM t").fetchall() == [("b",)]
    check.close()


def test_a_second_connection_of_the_holding_process_does_not_wait_for_itself(
    database, monkeypatch, caplog
):
    monkeypatch.setattr(db_setup, "TURN_TIMEOUT", 0.05)
    first, second = _connect(database), _connect(database, timeout=0.1)
    first.execute("INSERT INTO t(x) VALUES ('a')")
    with caplog.at_level(logging.WARNING, logger="tracker.db_setup"):
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            second.execute("INSERT INTO t(x) VALUES ('b')")  # SQLite's lock decides
    assert "no write turn" not in caplog.text  # it never queued for the turn
    second.rollback()  # as SQLAlchemy does after a failed statement
    first.commit()
    second.execute("INSERT INTO t(x) VALUES ('b')")
    assert not _turn_is_free(database)
    second.commit()
    assert _turn_is_free(database)
    first.close()
    second.close()


def test_a_writer_waits_for_another_process_and_goes_when_it_commits(database, holder):
    holder("write first")
    assert not _turn_is_free(database)
    done = threading.Event()

    def write():
        conn = _connect(database)
        conn.execute("INSERT INTO t(x) VALUES ('second')")
        conn.commit()
        conn.close()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert not done.wait(0.3)  # it cannot write while the other process holds the turn
    holder("commit")
    thread.join(10)
    assert done.is_set()
    check = sqlite3.connect(database)
    assert check.execute("SELECT x FROM t ORDER BY rowid").fetchall() == [
        ("first",),
        ("second",),
    ]
    check.close()


def test_a_killed_holder_frees_the_turn_and_its_write_is_gone(database, holder):
    holder("write lost")
    assert not _turn_is_free(database)
    holder.proc.send_signal(signal.SIGKILL)
    holder.proc.wait()
    conn = _connect(database)
    conn.execute("INSERT INTO t(x) VALUES ('after')")
    conn.commit()
    assert conn.execute("SELECT x FROM t").fetchall() == [("after",)]
    conn.close()
    assert _turn_is_free(database)


def test_a_turn_not_had_in_time_is_given_up_and_sqlite_decides(
    database, holder, monkeypatch, caplog
):
    monkeypatch.setattr(db_setup, "TURN_TIMEOUT", 0.2)
    holder("flock")  # the turn kept without SQLite's lock (a stuck holder)
    conn = _connect(database)
    with caplog.at_level(logging.WARNING, logger="tracker.db_setup"):
        conn.execute("INSERT INTO t(x) VALUES ('anyway')")
    assert "no write turn" in caplog.text
    conn.commit()
    holder("unflock")
    # the helper that waited in the kernel let go of what it got late: turns work again
    conn.execute("INSERT INTO t(x) VALUES ('next')")
    assert not _turn_is_free(database)
    conn.commit()
    assert _turn_is_free(database)
    assert conn.execute("SELECT x FROM t ORDER BY rowid").fetchall() == [("anyway",), ("next",)]
    conn.close()


def test_a_database_in_memory_has_no_turn(tmp_path):
    conn = _connect(":memory:")
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("INSERT INTO t(x) VALUES ('a')")
    assert conn.turn_file is None and conn.holds_turn is None
    conn.commit()
    conn.close()


def test_the_app_connects_to_a_sqlite_file_with_turns(app):
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            assert isinstance(raw.driver_connection, TurnConnection) is sqlite
            if sqlite:
                assert raw.driver_connection.turn_file.endswith(".db-turn")
                pragmas = {
                    name: raw.driver_connection.execute(f"PRAGMA {name}").fetchone()[0]
                    for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")
                }  # the connect hook ran for the subclass too
                assert pragmas == {
                    "foreign_keys": 1,
                    "journal_mode": "wal",
                    "synchronous": 1,
                    "busy_timeout": 30000,
                }
        finally:
            raw.close()
