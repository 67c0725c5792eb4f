"""SQLite's writers take turns on a file lock (tracker/db_setup.py, docs/adr/0262).

A write transaction on a database file holds `<file>-writers` (flock) from the statement
that begins it to its commit, rollback or close; a writer of another process waits in the
kernel's queue for it (seen in /proc/locks), not in SQLite's sleeping busy handler; a
killed writer frees it; two connections of one thread fail as before instead of hanging;
and checkpoints run on a thread of their own, never inside a commit.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, exc, text

from tests.support.processes import wait_until
from tracker import db_setup
from tracker.db_setup import QueuedWriters

ROOT = Path(__file__).resolve().parents[1]


def _engine(path: Path, **connect_args):
    connect_args.setdefault("factory", QueuedWriters)
    return create_engine(f"sqlite:///{path}", connect_args=connect_args)


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "turns.db"
    engine = _engine(path)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT UNIQUE)"))
    yield path, engine
    engine.dispose()


def _turn_is_free(path: Path) -> bool:
    fd = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the descriptor lets go of a lock it took
    return True


def _waiting_in_the_kernel(path: Path, pid: int) -> bool:
    """Whether /proc/locks shows `pid` queued (a "->" line) on the turn file's lock."""
    inode = os.stat(f"{path}-writers").st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and str(pid) in fields and any(f.endswith(f":{inode}") for f in fields):
            return True
    return False


def _until(predicate) -> bool:
    return wait_until(predicate, timeout=20, every=0.02)


def _writer(path: Path, body: str, *, then: str = "commit") -> subprocess.Popen:
    """Another process that writes a note through the app's connection class and says so."""
    code = textwrap.dedent(
        f"""
        import sys
        from sqlalchemy import create_engine, text
        from tracker.db_setup import QueuedWriters
        engine = create_engine("sqlite:///{path}", connect_args={{"factory": QueuedWriters}})
        with engine.connect() as conn:
            print("ready", flush=True)
            conn.execute(text("INSERT INTO note (body) VALUES (:b)"), {{"b": {body!r}}})
            print("wrote", flush=True)
            if {then!r} == "commit":
                conn.commit()
                print("committed", flush=True)
            else:
                sys.stdin.readline()  # hold the write until told (or killed)
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _end(process: subprocess.Popen) -> None:
    process.kill()
    process.communicate()  # reaps it and closes its pipes


def test_file_databases_get_the_connection_class_and_memory_ones_do_not():
    from flask import Flask

    for uri, expected in (("sqlite:////tmp/x.db", QueuedWriters), ("sqlite://", None)):
        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = uri
        db_setup.init_app(app)
        connect_args = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
        assert connect_args.get("factory") is expected, uri


def test_the_app_writes_through_the_connection_class(app):
    from tracker.extensions import db

    with app.app_context():
        assert db.engine.dialect.name == "sqlite"
        raw = db.engine.raw_connection()
        try:
            assert isinstance(raw.driver_connection, QueuedWriters)
            assert raw.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        finally:
            raw.close()


def test_a_write_holds_the_turn_until_it_commits_rolls_back_or_closes(database):
    path, engine = database
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM note")).all()
        assert _turn_is_free(path), "a read never takes the turn"
        conn.execute(text("INSERT INTO note (body) VALUES ('a')"))
        assert not _turn_is_free(path)
        conn.commit()
        assert _turn_is_free(path)

        conn.execute(text("INSERT INTO note (body) VALUES ('b')"))
        assert not _turn_is_free(path)
        conn.rollback()
        assert _turn_is_free(path)

        with pytest.raises(exc.IntegrityError):
            conn.execute(text("INSERT INTO note (body) VALUES ('a')"))  # a duplicate
        conn.rollback()
        assert _turn_is_free(path)

        conn.execute(text("INSERT INTO note (body) VALUES ('c')"))
    assert _turn_is_free(path), "returning the connection to the pool rolls back"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM note ORDER BY body")).scalars().all() == ["a"]


def test_a_writer_of_another_process_queues_in_the_kernel_then_writes(database):
    path, engine = database
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO note (body) VALUES ('first')"))
        other = _writer(path, "second")
        try:
            assert other.stdout.readline().strip() == "ready"
            assert _until(lambda: _waiting_in_the_kernel(path, other.pid)), (
                "the other writer should wait on the turn's lock, not poll SQLite's"
            )
            assert other.poll() is None
            conn.commit()
            assert other.stdout.readline().strip() == "wrote"
            assert other.stdout.readline().strip() == "committed"
            assert other.wait(timeout=20) == 0
        finally:
            _end(other)
    with engine.connect() as conn:
        bodies = conn.execute(text("SELECT body FROM note ORDER BY id")).scalars().all()
    assert bodies == ["first", "second"]


def test_a_writer_killed_while_it_holds_the_turn_frees_it(database):
    path, engine = database
    holder = _writer(path, "never", then="hold")
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert holder.stdout.readline().strip() == "wrote"
        assert not _turn_is_free(path)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=20)
    finally:
        _end(holder)
    assert _turn_is_free(path)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO note (body) VALUES ('after')"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM note")).scalars().all() == ["after"]


def test_two_connections_of_one_thread_fail_as_busy_instead_of_hanging(tmp_path):
    path = tmp_path / "one-thread.db"
    engine = _engine(path, timeout=0.3)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
        with engine.connect() as first, engine.connect() as second:
            first.execute(text("INSERT INTO note (body) VALUES ('first')"))
            with pytest.raises(exc.OperationalError, match="database is locked"):
                second.execute(text("INSERT INTO note (body) VALUES ('second')"))
            second.rollback()
            first.commit()
            second.execute(text("INSERT INTO note (body) VALUES ('second')"))
            second.commit()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM note")).scalar() == 2
    finally:
        engine.dispose()


def test_checkpoints_run_on_their_own_thread_every_so_many_commits(database):
    path, engine = database
    turn = db_setup._turns[os.path.abspath(path)]
    turn.commits, before = 0, turn.checkpoints
    for i in range(db_setup.CHECKPOINT_EVERY - 1):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO note (body) VALUES (:b)"), {"b": str(i)})
    time.sleep(0.2)
    assert turn.checkpoints == before, "no checkpoint before CHECKPOINT_EVERY commits"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO note (body) VALUES ('last')"))
    assert _until(lambda: turn.checkpoints == before + 1), "the checkpointer never ran"
    assert turn.checkpointer.name == "sqlite-checkpoint" and turn.checkpointer.daemon
    with engine.connect() as conn:  # reads, and a commit that wrote nothing, count for none
        conn.execute(text("SELECT count(*) FROM note")).all()
        conn.commit()
    assert turn.commits == 0


def test_a_commit_past_the_wal_limit_checkpoints_before_it_returns(database, monkeypatch):
    path, engine = database
    monkeypatch.setattr(db_setup, "WAL_LIMIT_BYTES", 1024 * 1024)
    turn = db_setup._turns[os.path.abspath(path)]
    before = turn.checkpoints
    with engine.begin() as conn:  # ~2 MiB of pages in one transaction: a bulk load
        conn.execute(text("INSERT INTO note (body) VALUES (:b)"), {"b": "x" * 2 * 1024 * 1024})
    assert turn.checkpoints == before + 1
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_size_limit")).scalar() == 1024 * 1024 * 64


def test_a_wait_for_another_process_gives_up_at_the_timeout_and_leaves_no_lock(database):
    path, _ = database
    engine = _engine(path, timeout=0.3)
    holder = _writer(path, "held", then="hold")
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert holder.stdout.readline().strip() == "wrote"
        with engine.connect() as conn:
            for _ in range(2):  # the second wait reuses the waiting thread
                with pytest.raises(exc.OperationalError, match="database is locked"):
                    conn.execute(text("INSERT INTO note (body) VALUES ('mine')"))
                conn.rollback()
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=20) == 0  # it rolled back: its note is gone
    finally:
        _end(holder)
    # The thread still waiting when the holder let go took the lock for nobody: it gave
    # it back, and this process's writers go on.
    assert _until(lambda: _turn_is_free(path))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO note (body) VALUES ('mine')"))
    assert _turn_is_free(path)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM note")).scalars().all() == ["mine"]
    engine.dispose()


def test_a_connection_dropped_without_a_close_lets_the_turn_go(database):
    import gc

    path, engine = database
    dropped = QueuedWriters(str(path))
    dropped.take_turn()
    assert not _turn_is_free(path)
    del dropped
    gc.collect()
    assert _turn_is_free(path)
    with engine.begin() as conn:  # and this process's lock was let go with it
        conn.execute(text("INSERT INTO note (body) VALUES ('next')"))


def test_without_a_usable_lock_file_writes_go_on_under_sqlites_lock(tmp_path, caplog):
    path = tmp_path / "no-turn.db"
    Path(f"{path}-writers").mkdir()  # what stands where the lock file would be
    engine = _engine(path)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
            conn.execute(text("INSERT INTO note (body) VALUES ('written')"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT body FROM note")).scalars().all() == ["written"]
    finally:
        engine.dispose()
    assert db_setup._turns[os.path.abspath(path)].unusable
    assert "no write turn" in caplog.text


def test_the_lock_file_takes_the_database_files_mode(database):
    path, engine = database
    os.chmod(path, 0o640)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO note (body) VALUES ('x')"))
    # The fixture's first write made it; as a new process would, make it again.
    engine.dispose()
    os.unlink(f"{path}-writers")
    db_setup._turns.pop(os.path.abspath(path))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO note (body) VALUES ('y')"))
    assert os.stat(f"{path}-writers").st_mode & 0o777 == 0o640
