"""Benchmark: N due webhook deliveries sent by `deliver_due`, beside a bare http.client floor.

    .venv/bin/python benchmarks/webhooks.py [--count 2000] [--batch 100] [--database URL]
                                            [--module FILE]

In one run, against one receiver (tests/support/webhooks.py: a threaded http.server
speaking HTTP/1.1 with keep-alive) on loopback, in a process of its own so that it does
not share the GIL with the sender:
- floor: the same number of signed POSTs (same body size and headers) sent by a bare
  `http.client` loop over one kept-alive connection, no database at all, measured
  before and after the delivery (the mean is the floor; the machine is shared);
- delivery: `count` due deliveries to one endpoint → `deliver_due` (claim batches, read,
  sign, POST over the step's connection, one commit per batch), deliveries per second.
Without --database a fresh SQLite file is used; 'postgres' starts a throwaway cluster.
--module runs another version of tracker/notifications/webhook_delivery.py (e.g. the
one before batching, from `git show`) against the same rows, for a before/after figure.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from config import TestingConfig  # noqa: E402
from tests.support.webhooks import Receiver  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.core import clock  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import User  # noqa: E402
from tracker.services.messaging import webhooks  # noqa: E402


def _serve(pipe) -> None:
    """The receiver's process: answers `stats`, `clear` and `stop` sent down the pipe."""
    receiver = Receiver()
    pipe.send(receiver.url)
    while True:
        command = pipe.recv()
        if command == "stats":
            ids = receiver.ids()
            pipe.send((len(ids), len(set(ids)), receiver.connections))
        elif command == "clear":
            receiver.requests.clear()
            receiver.connections = 0
            pipe.send("ok")
        else:
            receiver.stop()
            pipe.send("stopped")
            return


class _RemoteReceiver:
    def __init__(self):
        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        self.url = self.pipe.recv()

    def ask(self, command: str):
        self.pipe.send(command)
        return self.pipe.recv()

    def stop(self) -> None:
        self.ask("stop")
        self.process.join(10)


def _floor(receiver: _RemoteReceiver, count: int, body: bytes) -> float:
    address = receiver.url.split("//", 1)[1].split("/", 1)[0]
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    secret = webhooks.new_secret()
    start = time.perf_counter()
    for n in range(count):
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "floor",
            "webhook-id": f"msg_floor_{n}",
            "webhook-timestamp": str(stamp),
            "webhook-signature": webhooks.sign(secret, f"msg_floor_{n}", stamp, body),
        }
        connection.request("POST", "/hook", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200
    elapsed = time.perf_counter() - start
    connection.close()
    return count / elapsed


def _module(path: str | None):
    if path is None:
        from tracker.notifications import webhook_delivery

        return webhook_delivery
    spec = importlib.util.spec_from_file_location("webhook_delivery_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database", help="a URL, or 'postgres' for a throwaway cluster")
    parser.add_argument("--module", help="another webhook_delivery.py to measure instead")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    cluster = None
    if args.database == "postgres":
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        args.database = cluster.create_database("bench_webhooks")
    try:
        _run(args, workdir, args.database or f"sqlite:///{workdir / 'bench.db'}")
    finally:
        if cluster is not None:
            cluster.stop()


def _run(args, workdir: Path, url: str) -> None:
    receiver = _RemoteReceiver()
    try:
        app = create_app(
            TestingConfig,
            SQLALCHEMY_DATABASE_URI=url,
            MAIL_DIR=str(workdir / "mail"),
            WEBHOOK_ALLOW_PRIVATE_TARGETS=True,
            WEBHOOK_BATCH=args.batch,
        )
        module = _module(args.module)
        with app.app_context():
            db.create_all()
            admin = User(email="admin@example.com", name="Admin", role="admin")
            db.session.add(admin)
            db.session.commit()
            endpoint = webhooks.create_endpoint(
                admin, {"url": receiver.url, "events": ["engagement.created"]}
            )
            connection = db.session.connection()
            for n in range(args.count):
                data = {"engagement": {"id": n, "title": f"Engagement {n}"}}
                webhooks._write(connection, "engagement.created", data, None, [endpoint.id])
            db.session.commit()
            sample = webhooks.envelope("engagement.created", {"engagement": {"id": 1}}, clock.now())
            body = json.dumps(sample, separators=(",", ":"), sort_keys=True).encode()
            before = _floor(receiver, args.count, body)
            receiver.ask("clear")
            start = time.perf_counter()
            delivered = module.deliver_due(clock.now())
            elapsed = time.perf_counter() - start
            received, distinct, connections = receiver.ask("stats")
            after = _floor(receiver, args.count, body)  # the machine is shared: bracket it
    finally:
        receiver.stop()
    rate = delivered / elapsed
    backend = url.split(":", 1)[0]
    which = args.module or "tracker/notifications/webhook_delivery.py"
    print(f"database: {backend}, deliveries: {args.count}, WEBHOOK_BATCH: {args.batch}")
    print(f"module: {which}")
    floor = (before + after) / 2
    print(
        f"floor (bare http.client, one keep-alive connection): {floor:,.0f} requests/s"
        f" (before {before:,.0f}, after {after:,.0f})"
    )
    print(
        f"deliver_due: {delivered} delivered, {received} received ({distinct} distinct "
        f"webhook-ids) over {connections} connection(s) in {elapsed:.2f} s"
        f" = {rate:,.0f} deliveries/s"
    )
    print(f"share of floor: {rate / floor:.0%}")


if __name__ == "__main__":
    main()
