"""Benchmark: N due outbox rows delivered by `deliver_due`, beside a bare smtplib ceiling.

    .venv/bin/python benchmarks/delivery.py [--count 10000] [--batch 200] [--database URL]
        [--server process|stock|parsing|thread] [--profile N]

In one run, against one aiosmtpd server on loopback (by default in its own process,
benchmarks/smtp_process.py, with its lean address parsing; `stock` and `parsing` are
that process with aiosmtpd as it comes, and also parsing every message as the test
server does; `--server thread` runs tests/support/smtp.py's server in this process, as
the first runs did, sharing the GIL with what is measured):
- ceiling: the same number of messages sent by a bare `smtplib` loop over one
  connection (no database at all), building each EmailMessage as it goes; and the wire
  alone: the same messages built as bytes before the clock starts, then `sendmail`;
- delivery: `count` due outbox rows → `deliver_due` (claim batches, build, send over
  one connection, one commit per batch), messages accepted per second.
Without --database a fresh SQLite file is used; pass an empty postgresql:// URL for
PostgreSQL ('postgres' starts a throwaway cluster). Target (issue 16): >= 500
messages/s and >= 50% of the ceiling. `--profile N` runs `deliver_due` under cProfile
and prints the N costliest functions (cumulative and own time) per message.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import smtplib
import socket
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.smtp_process import SmtpProcess  # noqa: E402
from config import TestingConfig  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.notifications.delivery import deliver_due  # noqa: E402
from tracker.services.messaging.outbox import enqueue  # noqa: E402


def _ceiling(host: str, port: int, count: int) -> float:
    smtp = smtplib.SMTP(host, port, timeout=10)
    smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.perf_counter()
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"] = "tracker@localhost", f"c{n}@example.com"
        message["Subject"], message["Message-ID"] = f"Ceiling {n}", f"<c{n}@bench>"
        message.set_content("plain body")
        message.add_alternative("<p>html body</p>", subtype="html")
        smtp.send_message(message)
    elapsed = time.perf_counter() - start
    smtp.quit()
    return count / elapsed


def _wire_ceiling(host: str, port: int, count: int) -> float:
    """The same messages built (as bytes) before the clock starts: SMTP on the wire only."""
    raw = []
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"] = "tracker@localhost", f"w{n}@example.com"
        message["Subject"], message["Message-ID"] = f"Wire {n}", f"<w{n}@bench>"
        message.set_content("plain body")
        message.add_alternative("<p>html body</p>", subtype="html")
        raw.append((f"w{n}@example.com", message.as_bytes()))
    smtp = smtplib.SMTP(host, port, timeout=10)
    smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.perf_counter()
    for to, data in raw:
        smtp.sendmail("tracker@localhost", [to], data)
    elapsed = time.perf_counter() - start
    smtp.quit()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--database", help="a URL, or 'postgres' for a throwaway cluster")
    parser.add_argument(
        "--server", choices=["process", "stock", "parsing", "thread"], default="process"
    )
    parser.add_argument("--profile", type=int, default=0, help="print the top N under cProfile")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    cluster = None
    if args.database == "postgres":
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        args.database = cluster.create_database("bench_delivery")
    try:
        _run(args, workdir, args.database or f"sqlite:///{workdir / 'bench.db'}")
    finally:
        if cluster is not None:
            cluster.stop()


class _ThreadServer:
    """tests/support/smtp.py's server in this process, with SmtpProcess's interface."""

    def __init__(self):
        self.server = SmtpServer().start()
        self.config = self.server.config()

    def clear(self) -> None:
        self.server.clear()

    def stop(self) -> list[tuple[str, float]]:
        ids = self.server.message_ids()
        self.server.stop()
        return [(mid, 0.0) for mid in ids]


def _run(args, workdir: Path, url: str) -> None:
    if args.server == "thread":
        server = _ThreadServer()
    else:
        server = SmtpProcess("lean" if args.server == "process" else args.server)
    settings = {k: v for k, v in server.config.items()}
    settings["SMTP_TIMEOUT"] = 10
    profile = cProfile.Profile() if args.profile else None
    try:
        app = create_app(
            TestingConfig,
            SQLALCHEMY_DATABASE_URI=url,
            MAIL_DIR=str(workdir / "mail"),
            MAIL_BATCH=args.batch,
            **settings,
        )
        with app.app_context():
            db.create_all()
            for n in range(args.count):
                enqueue(f"bench:{n}", f"u{n}@example.com", f"Subject {n}", "plain", "<p>h</p>")
            db.session.commit()
            ceiling = _ceiling(settings["SMTP_HOST"], int(settings["SMTP_PORT"]), args.count)
            wire = _wire_ceiling(settings["SMTP_HOST"], int(settings["SMTP_PORT"]), args.count)
            server.clear()
            start = time.perf_counter()
            if profile:
                profile.enable()
            sent = deliver_due(clock.now())
            if profile:
                profile.disable()
            elapsed = time.perf_counter() - start
    finally:
        accepted = server.stop()
    ids = [mid for mid, _ in accepted]
    rate = sent / elapsed
    backend = url.split(":", 1)[0]
    print(
        f"database: {backend}, rows: {args.count}, MAIL_BATCH: {args.batch}, server: {args.server}"
    )
    if profile:
        print("(under cProfile: the rate below is slowed by profiling)")
    print(f"ceiling (bare smtplib, one connection): {ceiling:,.0f} messages/s")
    print(f"  wire only (the same messages pre-built as bytes, sendmail): {wire:,.0f} messages/s")
    print(f"deliver_due: {sent} sent, {len(ids)} received ({len(set(ids))} unique Message-IDs)")
    print(f"  in {elapsed:.2f} s = {rate:,.0f} msg/s")
    print(f"share of ceiling: {rate / ceiling:.0%}; target >= 500 msg/s and >= 50%")
    if profile:
        _print_profile(profile, sent, args.profile)


def _print_profile(profile: cProfile.Profile, sent: int, top: int) -> None:
    stats = pstats.Stats(profile)
    total = stats.total_tt
    print(f"\ncProfile: {total:.2f} s in profiled code, {total / sent * 1e6:,.0f} µs per message")
    rows = []
    for (filename, line, name), (_cc, ncalls, own, cumulative, _callers) in stats.stats.items():
        where = f"{Path(filename).name}:{line}({name})" if line else name
        rows.append((cumulative, own, ncalls, where))
    for title, key in (("cumulative", 0), ("own time", 1)):
        print(f"top {top} by {title}: µs per message (cumulative | own | calls per message)")
        for cumulative, own, ncalls, where in sorted(rows, key=lambda r: -r[key])[:top]:
            print(
                f"  {cumulative / sent * 1e6:8.1f} | {own / sent * 1e6:7.1f} | "
                f"{ncalls / sent:7.2f}  {where}"
            )


if __name__ == "__main__":
    main()
