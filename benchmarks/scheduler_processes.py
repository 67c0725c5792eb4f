"""Benchmark: real `flask scheduler run` processes on PostgreSQL sharing a burst of due reminders.

    .venv/bin/python benchmarks/scheduler_processes.py [--count 10000] [--engagements 100]
        [--scenarios one,two,kill-default,kill-tuned] [--kill-after 2000]

Starts a throwaway PostgreSQL cluster (tests/support/postgres.py) and, per scenario, a
fresh database and one aiosmtpd server in its own process (benchmarks/smtp_process.py),
which records each accepted message's Message-ID and the instant it was accepted.
`count` overdue checklist items, spread over `--engagements` engagements (100; a
materialising batch locks its engagements, so all on one engagement would serialise the
processes), are planned into due reminders (one recipient each, so one message each)
and parked; the schedulers are started and left to
tick idle; then one UPDATE makes every reminder due, and the clock starts at its commit.

Scenarios (each prints its settings; nothing here asserts a time):
- one / two: 1 or 2 processes, SCHEDULER_TICK_SECONDS=1, other settings default; the
  time until all `count` messages were accepted, the split between the processes,
  duplicates (a Message-ID accepted twice), and each process's VmHWM/VmRSS after the
  burst. Target (issue 16): two >= 1.5x one; RSS < 150 MB; duplicates 0.
- kill-default / kill-tuned: 2 processes; once materialisation is over and
  `--kill-after` messages were accepted, one process is SIGKILLed `--kill-delay`
  seconds after it was seen holding a claimed delivery batch (so, mid-batch).
  Measured: from the kill until every row it held was accepted, and duplicates.
  kill-default uses the defaults (MAIL_LEASE_SECONDS 15 kept by a heartbeat,
  SCHEDULER_DELIVERY_SECONDS 5, SCHEDULER_TICK_SECONDS 30; ADR 0163); kill-tuned a
  short lease and tick (printed). Target: < 30 s.

The floor beside the throughput, measured in the same run against the same server: the
same number of messages sent by a bare smtplib loop over one connection (no database).
"""

from __future__ import annotations

import argparse
import os
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

from sqlalchemy import func, select, update  # noqa: E402

from benchmarks.reminders import _due_checklist_reminders  # noqa: E402
from benchmarks.smtp_process import SmtpProcess  # noqa: E402
from config import TestingConfig  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import OutboxEmail, Reminder  # noqa: E402

FLASK = str(ROOT / ".venv" / "bin" / "flask")
DEFAULTS: dict[str, str] = {}  # the config defaults: lease 15 s, delivery poll 5 s, tick 30 s
TUNED = {"MAIL_LEASE_SECONDS": "10", "SMTP_TIMEOUT": "2", "SCHEDULER_TICK_SECONDS": "5"}
SCENARIOS = {
    "one": (1, {"SCHEDULER_TICK_SECONDS": "1"}, False),
    "two": (2, {"SCHEDULER_TICK_SECONDS": "1"}, False),
    "kill-default": (2, DEFAULTS, True),
    "kill-tuned": (2, TUNED, True),
}


def _ceiling(config: dict, count: int) -> float:
    smtp = smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=10)
    smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.perf_counter()
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"] = "tracker@localhost", f"c{n}@example.com"
        message["Subject"], message["Message-ID"] = f"Ceiling {n}", f"<c{n}@bench>"
        message.set_content("plain body " * 40)
        message.add_alternative("<p>html body</p>" * 40, subtype="html")
        smtp.send_message(message)
    elapsed = time.perf_counter() - start
    smtp.quit()
    return count / elapsed


TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pids: list[int]) -> dict:
    """CPU seconds so far: the whole machine (busy, all cores) and each of `pids`."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    figures = {"machine_busy": (total - idle) / TICK, "machine_all": total / TICK}
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        figures[pid] = (int(stat[11]) + int(stat[12])) / TICK  # utime + stime
    return figures


def _cpu_used(before: dict, after: dict, procs: list, smtp_pid: int) -> dict:
    """Core-seconds spent during the burst, by the schedulers, the SMTP server, the rest."""
    used = {key: after[key] - before[key] for key in before if key in after}
    schedulers = sum(used.get(p.pid, 0.0) for p in procs)
    smtp = used.get(smtp_pid, 0.0)
    return {
        "cores": os.cpu_count(),
        "busy": used["machine_busy"],
        "all": used["machine_all"],
        "schedulers": schedulers,
        "smtp": smtp,
        "rest": used["machine_busy"] - schedulers - smtp,  # PostgreSQL, this script, others
    }


def _status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS of a process, in kB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            figures[name] = int(value.split()[0])
    return figures


def _env(url: str, smtp: SmtpProcess, mail_dir: Path, settings: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "MAIL_", "SCHED"))}
    env.update(APP_ENV="testing", FLASK_APP="wsgi", TEST_DATABASE_URL=url, MAIL_DIR=str(mail_dir))
    env.update({k: str(v) for k, v in smtp.config.items()})
    env.update(settings)
    return env


def _held_by(pid: int) -> list[str]:
    """Message-IDs of pending outbox rows whose lease the process `pid` holds."""
    return list(
        db.session.scalars(
            select(OutboxEmail.message_id).where(
                OutboxEmail.claimed_by.like(f"%:{pid}:%"),
                OutboxEmail.status == "pending",
                OutboxEmail.lease_until > clock.now(),
            )
        )
    )


def _due_reminders() -> int:
    """Pending reminders already due (materialising plans later occurrences, not due)."""
    return db.session.scalar(
        select(func.count(Reminder.id)).where(
            Reminder.status == "pending", Reminder.due_at <= clock.now()
        )
    )


def _pending_outbox() -> int:
    return db.session.scalar(
        select(func.count(OutboxEmail.id)).where(OutboxEmail.status == "pending")
    )


class Burst:
    """What the poll loop saw: when materialisation ended, the kill, the rows the victim held."""

    def __init__(self, t0: float):
        self.t0 = t0
        self.materialised_at: float | None = None
        self.killed_at: float | None = None
        self.held: list[str] = []
        self.done_at = t0
        self.timed_out = False


def _start(name: str, processes: int, env: dict, workdir: Path, logs: list) -> list:
    procs = []
    for n in range(processes):
        log = open(workdir / f"{name}-{n}.log", "wb")  # noqa: SIM115
        logs.append(log)
        procs.append(
            subprocess.Popen([FLASK, "scheduler", "run"], cwd=ROOT, env=env, stdout=log, stderr=log)
        )
    return procs


def _kill_if_holding(victim: subprocess.Popen, burst: Burst, delay: float) -> None:
    if _held_by(victim.pid):
        time.sleep(delay)  # into the batch: some sent, none committed
        os.kill(victim.pid, signal.SIGKILL)
        burst.killed_at = time.time()
        victim.wait()
        burst.held = _held_by(victim.pid)  # its leases are still in the future


def _watch(smtp: SmtpProcess, procs: list, count: int, kill: bool, args) -> Burst:
    """Poll every 0.2 s until all `count` were accepted (and, with a kill, committed)."""
    burst = Burst(time.time())
    deadline = burst.t0 + 900
    while time.time() < deadline:
        accepted = smtp.count()
        if burst.materialised_at is None and _due_reminders() == 0:
            burst.materialised_at = time.time()
        ready = burst.materialised_at and accepted >= args.kill_after
        if kill and burst.killed_at is None and ready:
            _kill_if_holding(procs[1], burst, args.kill_delay)
        if burst.materialised_at and not _pending_outbox() and accepted < count:
            break  # nothing left to send: fewer messages than reminders
        if accepted >= count:
            sent = db.session.scalar(select(func.count()).where(OutboxEmail.status == "sent"))
            if not kill or (burst.killed_at and sent >= count):
                break
        time.sleep(0.2)
        db.session.rollback()
    burst.done_at = time.time()
    burst.timed_out = burst.done_at >= deadline
    return burst


def _kill_figures(messages: list[tuple[str, float]], burst: Burst, args) -> dict:
    held, killed_at = burst.held, burst.killed_at
    first_after: dict[str, float] = {}
    for mid, at in messages:
        if at >= killed_at and mid not in first_after:
            first_after[mid] = at
    missing = [mid for mid in held if mid not in first_after]
    last = max(messages, key=lambda m: m[1])[0] if messages else None
    held_set = set(held)
    return {
        "kill_at_accepted": args.kill_after,
        "kill_delay": args.kill_delay,
        "killed_at_s": killed_at - burst.t0,
        "last_accepted_was_held": last in held_set,
        "held_by_victim": len(held),
        "held_accepted_after_kill": len(held) - len(missing),
        "recovery_s": (
            max(first_after[mid] for mid in held) - killed_at if held and not missing else None
        ),
        "held_also_before_kill": sum(
            1 for mid, at in messages if mid in held_set and at < killed_at
        ),
    }


def run(cluster: PostgresCluster, name: str, count: int, args, workdir: Path) -> dict:
    processes, settings, kill = SCENARIOS[name]
    url = cluster.create_database(f"bench_{name.replace('-', '_')}")
    smtp = SmtpProcess()
    app = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_DIR=str(workdir / name), **smtp.config
    )
    result: dict = {"scenario": name, "processes": processes, "settings": settings or "defaults"}
    procs: list[subprocess.Popen] = []
    logs: list = []
    try:
        with app.app_context():
            db.create_all()
            _due_checklist_reminders(count, args.engagements)
            # Parked: no claim takes a row whose status is not "pending". (Moving due_at
            # instead would change what the reminders say: they were all skipped.)
            db.session.execute(update(Reminder).values(status="parked"))
            db.session.commit()
            if not kill:
                result["ceiling_msg_s"] = _ceiling(smtp.config, count)
                smtp.clear()
            env = _env(url, smtp, workdir / name, settings)
            procs = _start(name, processes, env, workdir, logs)
            time.sleep(8)  # imported, connected, first (idle) tick done
            cpu_before = _cpu([p.pid for p in procs] + [smtp.pid])
            db.session.execute(
                update(Reminder).where(Reminder.status == "parked").values(status="pending")
            )
            db.session.commit()
            burst = _watch(smtp, procs, count, kill, args)
            alive = [p for p in procs if p.poll() is None]
            cpu_after = _cpu([p.pid for p in alive] + [smtp.pid])
            result["cpu"] = _cpu_used(cpu_before, cpu_after, alive, smtp.pid)
            time.sleep(3)  # a late duplicate would arrive now
            result["rss_kb"] = {p.pid: _status(p.pid) for p in procs if p.poll() is None}
            split = db.session.execute(
                select(OutboxEmail.claimed_by, func.count()).group_by(OutboxEmail.claimed_by)
            ).all()
            result["split"] = {(by or "-").split(":")[1] if by else "-": n for by, n in split}
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        result["exit_codes"] = [p.wait(60) for p in procs]
        for log in logs:
            log.close()
        messages = smtp.stop()
    ids = [mid for mid, _ in messages]
    result["received"], result["unique"] = len(ids), len(set(ids))
    result["duplicates"] = len(ids) - len(set(ids))
    times = [at for _, at in messages]
    result["all_accepted_s"] = max(times) - burst.t0 if times else None
    result["timed_out"] = burst.timed_out
    if burst.materialised_at:
        result["materialised_s"] = burst.materialised_at - burst.t0
    if kill and burst.killed_at:
        result.update(_kill_figures(messages, burst, args))
    return result


def _print(result: dict, count: int) -> None:
    print(f"\n== {result['scenario']}: {result['processes']} process(es), {result['settings']}")
    if "ceiling_msg_s" in result:
        print(
            "floor: bare smtplib, one connection, same server: "
            f"{result['ceiling_msg_s']:,.0f} msg/s"
        )
    seconds = result["all_accepted_s"]
    if seconds:
        print(
            f"all {count:,} accepted {seconds:.1f} s after the reminders became due "
            f"= {count / seconds:,.0f} msg/s end to end"
        )
    if "materialised_s" in result:
        print(f"  reminders all materialised at {result['materialised_s']:.1f} s")
    print(
        f"received {result['received']:,}, unique Message-IDs {result['unique']:,}, "
        f"duplicates {result['duplicates']}; timed out: {result['timed_out']}"
    )
    print(f"rows per worker pid: {result['split']}; exit codes {result['exit_codes']}")
    cpu = result.get("cpu")
    if cpu:
        print(
            f"  CPU during the burst: {cpu['busy']:.1f} of {cpu['all']:.1f} core-seconds busy "
            f"({cpu['busy'] / cpu['all']:.0%} of {cpu['cores']} cores); schedulers "
            f"{cpu['schedulers']:.1f} s, SMTP server {cpu['smtp']:.1f} s, "
            f"PostgreSQL and the rest {cpu['rest']:.1f} s"
        )
    for pid, status in result["rss_kb"].items():
        print(
            f"  pid {pid}: VmHWM {status['VmHWM'] / 1024:.0f} MB, "
            f"VmRSS {status['VmRSS'] / 1024:.0f} MB (target < 150 MB)"
        )
    if "held_by_victim" in result:
        recovery = result["recovery_s"]
        print(
            f"SIGKILL after {result['kill_at_accepted']:,} accepted, {result['kill_delay']} s "
            f"after the victim was seen holding a batch; it held "
            f"{result['held_by_victim']} rows, {result['held_also_before_kill']} of them "
            f"already accepted before the kill (uncommitted), "
            f"{result['held_accepted_after_kill']} accepted after it"
        )
        if not result["held_by_victim"]:
            shown = "no measurement: the victim committed its batch before the signal (rerun)"
        elif recovery is None:
            shown = "NOT all recovered"
        else:
            shown = f"{recovery:.1f} s"
        print(f"kill -> every held row accepted: {shown} (target < 30 s)")
        print(
            f"  killed at {result['killed_at_s']:.1f} s; the last message the server accepted "
            f"was one the victim held: {result['last_accepted_was_held']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--kill-after", type=int, default=2000)
    parser.add_argument(
        "--engagements",
        type=int,
        default=100,
        help="engagements the items are spread over (a batch locks its engagements)",
    )
    parser.add_argument("--kill-delay", type=float, default=0.05, help="s after the victim claims")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up on SIGTERM too
    workdir = Path(tempfile.mkdtemp(prefix="bench-scheduler-"))
    cluster = PostgresCluster().start()
    print(f"PostgreSQL {cluster.bindir}, fsync off; logs in {workdir}")
    try:
        for name in args.scenarios.split(","):
            print(f"load before {name}: {os.getloadavg()}", flush=True)
            _print(
                run(cluster, name, args.count, args, workdir),
                args.count,
            )
            print(f"load after {name}: {os.getloadavg()}", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
