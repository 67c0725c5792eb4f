"""Benchmark: 10,000 queued emails delivered by `deliver_due` (batched: one connection and
one commit per OUTBOX_BATCH), beside a bare smtplib loop to the same aiosmtpd server.

    .venv/bin/python benchmarks/outbox_delivery.py [--count 10000] [--batch 200] [--database URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import func, select  # noqa: E402

from benchmarks.reminders import SmtpProcess, _setup, bench_ceiling  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import OutboxEmail  # noqa: E402
from tracker.notifications.delivery import deliver_due  # noqa: E402
from tracker.services.outbox import enqueue  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--database", help="SQLAlchemy URL of an empty database")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    smtp = SmtpProcess()
    try:
        app = _setup(url, smtp, str(workdir / "mail"))
        app.config["OUTBOX_BATCH"] = args.batch
        with app.app_context():
            for n in range(args.count):
                enqueue(
                    f"bench:{n}",
                    f"p{n}@example.com",
                    f"Item {n} is overdue",
                    "Overdue.\n" * 10,
                    None,
                )
            db.session.commit()
            ceiling = bench_ceiling(smtp, args.count)
            started = time.perf_counter()
            sent = deliver_due(clock.now())
            seconds = time.perf_counter() - started
            left = db.session.scalar(select(func.count()).where(OutboxEmail.status != "sent"))
        rate = sent / seconds
        print(f"deliver_due: {sent} sent in {seconds:.1f} s, {left} not sent")
        print(f"=> {rate:,.0f} msg/s = {rate / ceiling:.0%} of the bare ceiling ({ceiling:,.0f})")
    finally:
        print(f"SMTP server: {smtp.stop()}")


if __name__ == "__main__":
    main()
