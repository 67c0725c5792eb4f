"""Real `flask scheduler run` processes for tests: their environment, start, SIGKILL, stop.

Shared by the email and webhook crash tests: several schedulers on one database, one of
them SIGKILLed while it holds a claimed batch, then started again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import select

from tracker.extensions import db

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(ROOT / ".venv" / "bin" / "flask")


def scheduler_env(app, **extra) -> dict:
    """The environment of a scheduler process on `app`'s database, ticking every second."""
    env = dict(os.environ)
    env.update(
        APP_ENV="testing",
        FLASK_APP="wsgi",
        TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        MAIL_DIR=app.config["MAIL_DIR"],
        SMTP_HOST="",
        SCHEDULER_TICK_SECONDS="1",
    )
    env.pop("SCHEDULER_EMBEDDED", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_until(predicate, timeout: float = 120, every: float = 0.5) -> bool:
    """Poll `predicate` every `every` seconds; False if it never held within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def held_by(app, model, pid: int) -> dict[int, str]:
    """The pending rows of `model` (outbox or webhooks) claimed by process `pid`: id → message id.

    `claims.worker_id` is host:pid:thread, so the pid between colons names the process.
    """
    with app.app_context():
        rows = db.session.execute(
            select(model.id, model.message_id).where(
                model.status == "pending", model.claimed_by.contains(f":{pid}:")
            )
        ).all()
        db.session.rollback()
    return dict(rows)


class Schedulers:
    """`flask scheduler run` processes sharing one environment, each logging to its own file.

    Use as a context manager: leaving it stops (SIGTERM) every process still running and
    keeps their exit codes in `codes`, in start order.
    """

    def __init__(self, env: dict, log_dir: Path, name: str = "scheduler"):
        self.env, self.log_dir, self.name = env, log_dir, name
        self.procs: list[subprocess.Popen] = []
        self.logs: list = []
        self.codes: list[int] = []

    def start(self) -> subprocess.Popen:
        log = open(self.log_dir / f"{self.name}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [FLASK, "scheduler", "run"], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        self.logs.append(log)
        self.procs.append(proc)
        return proc

    def kill_one_holding(self, app, model, timeout: float = 60) -> tuple[int, dict[int, str]]:
        """SIGKILL a running process as soon as it holds claimed rows of `model`.

        Returns its pid and what it still held once dead (claimed, not committed).
        """
        running = [p for p in self.procs if p.poll() is None]
        holders: list[subprocess.Popen] = []

        def one_holds() -> bool:
            holders.extend(p for p in running if held_by(app, model, p.pid))
            return bool(holders)

        assert wait_until(one_holds, timeout), "no scheduler ever held a claimed row"
        victim = holders[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        return victim.pid, held_by(app, model, victim.pid)

    def kill_until_one_dies_holding(self, app, model, tries: int = 5) -> dict[int, str]:
        """SIGKILL holders of `model`'s rows, each replaced by a new process at once, until
        one dies still holding claimed rows; returns those ({} if none did in `tries`). On a
        busy machine the batch seen held may be committed before the signal lands: such a
        kill proves nothing about a batch cut short."""
        for _ in range(tries):
            _, held = self.kill_one_holding(app, model)
            self.start()
            if held:
                return held
        return {}

    def stop(self) -> list[int]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        self.codes = [proc.wait(30) for proc in self.procs]
        for log in self.logs:
            log.close()
        return self.codes

    def __enter__(self) -> Schedulers:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
