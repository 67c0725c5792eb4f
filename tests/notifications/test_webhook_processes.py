"""Two real `flask scheduler run` processes on PostgreSQL deliver 1,000 webhooks: none lost,
none twice."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from tests.support.webhooks import Receiver
from tests.test_scheduler import FLASK, ROOT, _env, _wait_until
from tracker.extensions import db
from tracker.models import WebhookDelivery
from tracker.services import webhooks

EVENTS = 1000


@pytest.mark.slow
@pytest.mark.postgres
def test_two_schedulers_deliver_a_thousand_events_exactly_once(make_app, tmp_path):
    app = make_app("postgres", WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    receiver = Receiver()
    try:
        with app.app_context():
            admin = make_user("admin")
            endpoint = webhooks.create_endpoint(
                admin, {"url": receiver.url, "events": ["engagement.created"]}
            )
            connection = db.session.connection()
            for n in range(EVENTS):
                webhooks._write(connection, "engagement.created", {"n": n}, None, [endpoint.id])
            db.session.commit()
        env = _env(app, WEBHOOK_ALLOW_PRIVATE_TARGETS="1")
        logs = [open(tmp_path / f"hooks-{n}.log", "wb") for n in range(2)]  # noqa: SIM115
        procs = [
            subprocess.Popen([FLASK, "scheduler", "run"], cwd=ROOT, env=env, stdout=log, stderr=log)
            for log in logs
        ]
        try:
            assert _wait_until(lambda: len(receiver.requests) >= EVENTS), len(receiver.requests)
            time.sleep(2)  # a duplicate would arrive now
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            codes = [proc.wait(30) for proc in procs]
            for log in logs:
                log.close()
    finally:
        receiver.stop()
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert len(ids) == EVENTS and len(set(ids)) == EVENTS
    assert codes == [0, 0]
    with app.app_context():
        delivered = select(func.count()).where(WebhookDelivery.status == "delivered")
        assert db.session.scalar(delivered) == EVENTS
        workers = db.session.scalars(select(WebhookDelivery.claimed_by).distinct()).all()
    assert len(workers) >= 1, workers
