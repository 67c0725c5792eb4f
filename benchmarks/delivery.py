"""Benchmark: N due outbox rows delivered by `deliver_due`, beside a bare smtplib ceiling.

    .venv/bin/python benchmarks/delivery.py [--count 10000] [--batch 200] [--database URL]

In one run, against one aiosmtpd server (tests/support/smtp.py) on loopback:
- ceiling: the same number of messages sent by a bare `smtplib` loop over one
  connection (no database at all);
- delivery: `count` due outbox rows → `deliver_due` (claim batches, build, send over
  one connection, one commit per batch), messages accepted per second.
Without --database a fresh SQLite file is used; pass an empty postgresql:// URL for
PostgreSQL. Target (issue 16): >= 500 messages/s and >= 50% of the ceiling.
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from config import TestingConfig  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.notifications.delivery import deliver_due  # noqa: E402
from tracker.services.outbox import enqueue  # noqa: E402


def _ceiling(server: SmtpServer, count: int) -> float:
    smtp = smtplib.SMTP(server.host, server.port, timeout=10)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--database", help="a URL, or 'postgres' for a throwaway cluster")
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


def _run(args, workdir: Path, url: str) -> None:
    server = SmtpServer().start()
    try:
        app = create_app(
            TestingConfig,
            SQLALCHEMY_DATABASE_URI=url,
            MAIL_DIR=str(workdir / "mail"),
            MAIL_BATCH=args.batch,
            **server.config(),
        )
        with app.app_context():
            db.create_all()
            for n in range(args.count):
                enqueue(f"bench:{n}", f"u{n}@example.com", f"Subject {n}", "plain", "<p>h</p>")
            db.session.commit()
            ceiling = _ceiling(server, args.count)
            server.clear()
            start = time.perf_counter()
            sent = deliver_due(clock.now())
            elapsed = time.perf_counter() - start
        received = len(server.messages)
    finally:
        server.stop()
    rate = sent / elapsed
    backend = url.split(":", 1)[0]
    print(f"database: {backend}, rows: {args.count}, MAIL_BATCH: {args.batch}")
    print(f"ceiling (bare smtplib, one connection): {ceiling:,.0f} messages/s")
    print(f"deliver_due: {sent} sent, {received} received in {elapsed:.1f} s = {rate:,.0f} msg/s")
    print(f"share of ceiling: {rate / ceiling:.0%}; target >= 500 msg/s and >= 50%")


if __name__ == "__main__":
    main()
