"""The outbox under faults (issue 32): a hung mail server trips the step's circuit breaker,
outcomes are recorded as they happen, claims follow the pace of the server.

Against real servers: `hung_smtp` accepts connections and never answers, aiosmtpd
(`smtp_server`) answers, slowly when asked.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.notifications.conftest import digest_emails, subscribe
from tests.support.scheduler import T0, frozen, trial_engagement
from tracker.core import clock as app_clock
from tracker.extensions import db
from tracker.models import DeliveryCircuit, Engagement, OutboxEmail, WorkflowTimer
from tracker.notifications import circuits
from tracker.notifications.delivery import Pace, Recorder, deliver_due, pace_for
from tracker.scheduling import claims
from tracker.scheduling.tick import run_tick
from tracker.services.messaging.outbox import enqueue

pytestmark = pytest.mark.smtp
TODAY = T0.date()


def _queue(count: int, prefix: str = "fault") -> list[int]:
    rows = [enqueue(f"{prefix}:{n}", f"u{n}@example.com", f"Hello {n}", "b") for n in range(count)]
    db.session.commit()
    return [row.id for row in rows]


def _rows() -> list[OutboxEmail]:
    db.session.expire_all()
    query = select(OutboxEmail).where(OutboxEmail.category != "digest").order_by(OutboxEmail.id)
    return list(db.session.scalars(query))


def test_a_hung_mail_server_costs_one_timeout_per_tick_and_delays_nothing_else(make_app, hung_smtp):
    # 22 due emails, SMTP_TIMEOUT=3, a server that accepts and never answers: the tick
    # (timers, reminders, health, digests, then delivery) takes one timeout, not 22.
    app = make_app(**hung_smtp.config(timeout=3), MAIL_BATCH=200, DELIVERY_CIRCUIT_SECONDS=30)
    client = app.test_client()
    with app.app_context():
        clock = frozen(app)
        engagement, owner, _ = trial_engagement(TODAY, trial_day=89)
        db.session.add(
            WorkflowTimer(
                engagement_id=engagement.id,
                event="begin_review",
                from_state="trial",
                due_at=T0 - timedelta(hours=1),
            )
        )
        subscribe(owner, now=T0 - timedelta(hours=5))  # its 08:00 digest is due
        db.session.commit()
        ids = _queue(22)
        started = time.monotonic()
        results = run_tick()
        took = time.monotonic() - started
        rows = {row.id: row for row in _rows()}
        state = db.session.get(Engagement, engagement.id).state
        digests = digest_emails()
    print(f"hung SMTP, 22 due emails, SMTP_TIMEOUT=3: one tick {took:.1f} s")
    assert took <= 9, took
    assert results["timers"] == 1 and state == "milestone_review"  # not delayed
    assert len(digests) == 1 and digests[0].status == "pending"  # built, waits for the server
    assert results["failed"] == {"delivery": 1}
    tried = [rows[i] for i in ids if rows[i].attempts]
    assert len(tried) == 1 and hung_smtp.connections == 1
    where = f"{hung_smtp.host}:{hung_smtp.port}"
    assert tried[0].last_reply == f"timed out after 3 s ({where})"  # not "connection lost"
    untouched = {(r.status, r.attempts, r.claimed_by, r.lease_until) for r in rows.values()} - {
        (tried[0].status, 1, tried[0].claimed_by, None)
    }
    assert untouched == {("pending", 0, None, None)}  # released at once, not charged

    # The breaker is open for 30 s: the next ticks try nothing and say why.
    with app.app_context():
        circuit = circuits.get(circuits.SMTP)
        assert circuit.trips == 1 and circuit.open_until == T0 + timedelta(seconds=30)
        started = time.monotonic()
        again = run_tick()
        assert time.monotonic() - started < 2
    assert hung_smtp.connections == 1 and again["delivery"] == 0
    assert again["paused"]["delivery"] == (
        f"paused until 2026-03-02 10:00:30 UTC: mail server timed out after 3 s ({where})"
    )
    health = client.get("/healthz").get_json()["scheduler"]
    assert health["circuits"] == {
        "smtp": {
            "open_until": (T0 + timedelta(seconds=30)).isoformat(),
            "trips": 1,
            "reason": f"mail server timed out after 3 s ({where})",
        }
    }
    assert health["steps"]["delivery"]["last_error"] == again["paused"]["delivery"]
    assert health["steps"]["delivery"]["last_success_at"] is None

    # Once it has run out, one message probes; it times out too: open twice as long.
    with app.app_context():
        clock.advance(seconds=31)
        started = time.monotonic()
        probe = run_tick()
        assert time.monotonic() - started <= 6
        circuit = circuits.get(circuits.SMTP)
        attempts = sorted(row.attempts for row in _rows())
    assert probe["failed"] == {"delivery": 1} and hung_smtp.connections == 2
    assert circuit.trips == 2 and circuit.open_until == T0 + timedelta(seconds=31 + 60)
    assert attempts.count(1) == 2 and attempts.count(0) == 20


def test_the_outbox_page_says_delivery_is_paused_and_why(make_app, hung_smtp):
    from tests import factories
    from tests.conftest import AuthActions

    app = make_app(**hung_smtp.config(timeout=1))
    with app.app_context():
        frozen(app)
        factories.make_user("admin", email="root@example.com")
        _queue(3)
        deliver_due(T0)
    client = app.test_client()
    AuthActions(client).login("root@example.com")
    page = client.get("/admin/outbox").get_data(as_text=True)
    where = f"{hung_smtp.host}:{hung_smtp.port}"
    assert 'data-testid="outbox-paused"' in page
    assert f"mail server timed out after 1 s ({where}). Nothing more is tried until " in page
    assert "2026-03-02 10:00:30 UTC" in page


def test_the_probe_that_gets_through_closes_the_breaker_and_the_rest_goes(make_app, smtp_server):
    # One sender: a second one (ADR 0248) would race the first for the other 11 rows.
    app = make_app(**smtp_server.config(), MAIL_BATCH=50, MAIL_CONNECTIONS=1)
    with app.app_context():
        clock = frozen(app)
        _queue(12)
        circuits.trip(circuits.SMTP, "mail server connection refused (test)")
        assert deliver_due(clock()) == 0 and smtp_server.messages == []
        clock.advance(seconds=30)
        assert deliver_due(clock()) == 12
        assert db.session.scalar(select(func.count()).select_from(DeliveryCircuit)) == 0
    assert len(set(smtp_server.message_ids())) == 12
    assert smtp_server.connections == 1  # the probe's connection carried on with the rest


def test_a_refused_connection_trips_the_breaker_with_a_growing_delay(make_app):
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_SECURITY="none", SMTP_TIMEOUT=2)
    with app.app_context():
        clock = frozen(app)
        _queue(5)
        delays = []
        for _ in range(4):
            deliver_due(clock())
            circuit = circuits.get(circuits.SMTP)
            delays.append(circuit.open_until - clock())
            clock.set(circuit.open_until)
        rows = _rows()
    assert delays == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert circuit.reason == "mail server connection refused (127.0.0.1:1)"
    # one probe per opening, each the first row due (a failed one waits its own back-off)
    assert [row.attempts for row in rows] == [1, 1, 1, 1, 0]


@pytest.mark.parametrize(
    ("security", "reason"),
    [
        ("starttls", "TLS failed: the server does not offer STARTTLS"),
        ("ssl", "TLS failed: WRONG_VERSION_NUMBER"),
    ],
)
def test_a_tls_failure_trips_the_breaker_and_says_so(make_app, smtp_server, security, reason):
    app = make_app(**{**smtp_server.config(), "SMTP_SECURITY": security, "SMTP_TIMEOUT": 2})
    with app.app_context():
        frozen(app)
        first, *rest = _queue(3)
        assert deliver_due(T0) == 0
        rows = {row.id: row for row in _rows()}
        circuit = circuits.get(circuits.SMTP)
    where = f"{smtp_server.host}:{smtp_server.port}"
    assert rows[first].last_reply == f"{reason} ({where})" and rows[first].attempts == 1
    assert {rows[i].attempts for i in rest} == {0}
    assert circuit.reason == f"mail server {reason} ({where})"
    assert smtp_server.messages == []


def test_each_accepted_message_is_recorded_before_the_batch_ends(make_app, smtp_server):
    # A slow server (0.3 s a message): each outcome is written as it happens (ADR 0205),
    # seen from another connection while the batch is still sending.
    app = make_app(**smtp_server.config(), MAIL_BATCH=10, MAIL_LEASE_SECONDS=30)
    smtp_server.slow(0.3)
    seen: list[tuple[int, int]] = []
    with app.app_context():
        _queue(6)
        original = Recorder._write

        def spy(self):
            done = original(self)
            with db.engine.connect() as conn:
                sent = conn.execute(
                    select(func.count()).where(OutboxEmail.status == "sent")
                ).scalar()
            seen.append((len(smtp_server.messages), sent))
            return done

        Recorder._write = spy
        try:
            assert deliver_due(app_clock.now()) == 6
        finally:
            Recorder._write = original
    # Each message (slower than Recorder.WAIT) was committed before the next was sent.
    assert [received for received, _ in seen[:6]] == [1, 2, 3, 4, 5, 6]
    assert all(received == sent for received, sent in seen)


def test_the_pace_sizes_a_claim_to_one_lease_of_sending():
    pace = Pace()
    assert pace.claim_size(200, timedelta(seconds=15)) == 1  # unknown: one message probes
    pace.observe(2.0)
    assert pace.claim_size(200, timedelta(seconds=15)) == 2  # 5 s of sending
    assert pace.claim_size(200, timedelta(seconds=60)) == 10
    for _ in range(30):
        pace.observe(0.001)
    assert pace.claim_size(200, timedelta(seconds=15)) == 200
    pace.observe(60)
    assert pace.claim_size(200, timedelta(seconds=15)) == 1


def test_a_batch_gives_back_what_it_cannot_send_at_the_new_pace(make_app, smtp_server):
    # The process believed the server fast and claimed 20; it now takes 1 s a message.
    # After the first message the worker keeps what it can send in a third of its lease
    # at the pace it now measures and releases the rest at once, uncharged.
    app = make_app(**smtp_server.config(), MAIL_BATCH=20, MAIL_LEASE_SECONDS=10)
    smtp_server.slow(1.0)
    with app.app_context():
        pace = pace_for(app.config)
        pace.seconds = 0.001
        ids = _queue(20)
        released: list[int] = []
        paces: list[float] = []
        original = claims.release

        def stop_after_the_first_give_back(model, row_ids, worker):
            original(model, row_ids, worker)
            if row_ids and not released:
                released.extend(row_ids)
                paces.append(pace.seconds)
                claims.stopping.set()  # end the step after the message in flight

        claims.release = stop_after_the_first_give_back
        try:
            sent = deliver_due(app_clock.now())
        finally:
            claims.release = original
            claims.stopping.clear()
        rows = {row.id: row for row in _rows()}
    kept = int(10 / 3 / paces[0])
    assert 0.2 < paces[0] < 1.1 and 1 <= kept < 18
    assert sent == 1 and rows[ids[0]].status == "sent"
    assert released == ids[1 + kept :]  # the tail, given back at once
    assert {(rows[i].status, rows[i].attempts, rows[i].claimed_by) for i in ids[1:]} == {
        ("pending", 0, None)
    }


def test_drain_renews_the_lease_between_rows_and_skips_a_row_taken_over(make_app):
    # ADR 0208: a 3 s lease, rows that take 1.2 s each. Before the third row the
    # remaining rows' lease is renewed; the row another worker took meanwhile is skipped.
    app = make_app()
    seen: list[tuple[int, float]] = []
    with app.app_context():
        ids = _queue(4)

        def handle(row_id: int, worker: str) -> int:
            leases = db.session.execute(
                select(OutboxEmail.id, OutboxEmail.lease_until).where(OutboxEmail.id.in_(ids))
            ).all()
            db.session.rollback()
            latest = max(lease for _, lease in leases if lease is not None)
            seen.append((row_id, (latest - app_clock.now()).total_seconds()))
            if row_id == ids[1]:
                with db.engine.begin() as conn:  # another worker takes the last row
                    conn.execute(
                        OutboxEmail.__table__.update()
                        .where(OutboxEmail.id == ids[3])
                        .values(claimed_by="another-worker")
                    )
            time.sleep(1.2)
            return 1

        done = claims.drain(
            OutboxEmail,
            OutboxEmail.next_attempt_at,
            app_clock.now(),
            handle,
            limit=10,
            lease=timedelta(seconds=3),
        )
    assert done == 3 and [row_id for row_id, _ in seen] == ids[:3]
    # renewed before the third row: a full lease ahead again, not the 0.6 s left
    assert seen[2][1] > 2.5, seen
