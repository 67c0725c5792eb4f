"""One digest per subscriber per period: two threads (SQLite, PostgreSQL), two processes (PG)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import make_engagement, make_user
from tests.notifications.conftest import START, subscribe
from tracker.extensions import db
from tracker.models import DigestRun, OutboxEmail
from tracker.notifications.digests import run_due

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBERS = 12


def _seed(app) -> None:
    with app.app_context():
        manager = make_user("manager")
        make_engagement(manager, title="Demand forecasting pod")
        for _ in range(SUBSCRIBERS):
            subscribe(make_user("manager"))
        db.session.remove()


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        runs = db.session.scalar(select(func.count()).select_from(DigestRun))
        keys = db.session.scalar(
            select(func.count(func.distinct(DigestRun.subscription_id))).select_from(DigestRun)
        )
        emails = db.session.scalar(select(func.count()).select_from(OutboxEmail))
        db.session.remove()
    return runs, keys, emails


def _race_threads(app, now: datetime, workers: int = 2) -> list[int]:
    barrier = threading.Barrier(workers)
    sent: list[int] = []
    errors: list[BaseException] = []

    def work():
        try:
            with app.app_context():
                barrier.wait()
                sent.append(run_due(now).sent)
                db.session.remove()
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return sent


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_threads_send_each_digest_once(make_app, backend):
    app = make_app(backend)
    _seed(app)
    now = START.replace(hour=9)
    sent = _race_threads(app, now)
    sent += _race_threads(app, now)  # and repeated ticks change nothing
    assert sum(sent) == SUBSCRIBERS
    assert _counts(app) == (SUBSCRIBERS, SUBSCRIBERS, SUBSCRIBERS)


def _cli_process(url: str, now: str) -> subprocess.Popen:
    env = dict(os.environ, APP_ENV="testing", TEST_DATABASE_URL=url, FLASK_APP="wsgi")
    flask = Path(sys.executable).with_name("flask")
    return subprocess.Popen(
        [str(flask), "digests", "run-due", "--now", now],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_on_postgres_send_each_digest_once(pg_app):
    _seed(pg_app)
    url = pg_app.config["SQLALCHEMY_DATABASE_URI"]
    now = START.replace(hour=9).isoformat()
    processes = [_cli_process(url, now) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    sent = [json.loads(out.strip().splitlines()[-1])["sent"] for out, _ in outputs]
    assert sum(sent) == SUBSCRIBERS
    assert _counts(pg_app) == (SUBSCRIBERS, SUBSCRIBERS, SUBSCRIBERS)
    later = datetime(2026, 3, 3, 9, tzinfo=UTC).isoformat()
    again = [_cli_process(url, later) for _ in range(2)]
    for process in again:
        process.communicate(timeout=120)
    assert _counts(pg_app) == (2 * SUBSCRIBERS, SUBSCRIBERS, 2 * SUBSCRIBERS)
