"""The tick: due reminders become exactly one email each, timers fire, downtime is caught up."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.support.scheduler import T0, add_milestone, at, frozen, reminders_for, trial_engagement
from tracker.extensions import db
from tracker.models import Engagement, OutboxEmail, Reminder, WorkflowTimer
from tracker.scheduling.steps import TICK_STEPS
from tracker.scheduling.tick import run_tick

TODAY = T0.date()
# On PostgreSQL too (ADR 0216): claims: SKIP LOCKED on PostgreSQL, a write lock first on SQLite.
pytestmark = [pytest.mark.smtp, pytest.mark.postgres]


@pytest.fixture
def smtp_app(make_app, smtp_server):
    return make_app(**smtp_server.config())


def test_tick_steps_run_timers_then_reminders_and_deliver_last():
    names = [step.name for step in TICK_STEPS]
    assert names.index("timers") < names.index("reminders") < names.index("delivery")
    assert names[-1] == "delivery"


def test_ticking_twice_sends_each_reminder_once(smtp_app, smtp_server):
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        engagement, owner, provider = trial_engagement(TODAY)
        milestone = add_milestone(engagement, TODAY + timedelta(days=7), title="Day-60 baseline")
        clock.set(at(TODAY) + timedelta(minutes=1))
        first = run_tick()
        second = run_tick()
        provider_email, title = provider.email, engagement.title
        link = f"http://localhost/engagements/{engagement.id}#milestone-{milestone.id}"
    assert first["reminders"] == 1 and first["delivery"] == 1
    assert set(second.values()) == {0}
    [message] = smtp_server.messages
    assert message["To"] == provider_email
    assert message["Subject"] == (
        f"Milestone “Day-60 baseline” is due in 7 days (Mon 9 Mar 2026) — {title}"
    )
    assert message.is_multipart() and message.get_content_type() == "multipart/alternative"
    text = message.get_payload()[0].get_payload(decode=True).decode()
    html = message.get_payload()[1].get_payload(decode=True).decode()
    assert link in text and f'href="{link}"' in html
    assert "You are getting this because you are on the Northwind ML team" in text
    assert "We send this reminder 7 days before the due date." in text
    assert "milestone_due_soon" not in text and "milestone_due_soon" not in html


def test_message_id_is_deterministic_from_the_key(smtp_app, smtp_server):
    from tracker.services.messaging.outbox import message_id_for

    with smtp_app.app_context():
        clock = frozen(smtp_app)
        engagement, _, provider = trial_engagement(TODAY)
        add_milestone(engagement, TODAY + timedelta(days=7))
        clock.set(at(TODAY) + timedelta(minutes=1))
        run_tick()
        key = db.session.scalar(select(OutboxEmail.key))
        assert smtp_server.message_ids() == [message_id_for(key)]


def test_overdue_reminder_goes_to_provider_and_owner_then_every_three_days(smtp_app, smtp_server):
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        engagement, owner, provider = trial_engagement(TODAY)
        milestone = add_milestone(engagement, TODAY)
        clock.set(at(TODAY) + timedelta(minutes=1))
        run_tick()
        recipients = sorted(m["To"] for m in smtp_server.messages)
        assert recipients == sorted([provider.email, owner.email])
        clock.advance(days=2)
        run_tick()
        assert len(smtp_server.messages) == 2  # not yet: every 3 days
        clock.advance(days=1)
        run_tick()
        assert len(smtp_server.messages) == 4
        milestone.status = "met"  # resolved: the chain stops
        db.session.commit()
        clock.advance(days=3)
        run_tick()
        assert len(smtp_server.messages) == 4


def test_six_hours_down_sends_each_missed_reminder_once_and_fires_the_trial_timer(
    smtp_app, smtp_server
):
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        engagement, owner, provider = trial_engagement(TODAY, trial_day=89)
        provider_email, owner_email = provider.email, owner.email
        trial_end = engagement.trial_end  # tomorrow
        due_tomorrow = add_milestone(engagement, trial_end, title="Day-90")
        db.session.add(
            WorkflowTimer(
                engagement_id=engagement.id,
                event="begin_review",
                from_state="trial",
                due_at=at(trial_end) - timedelta(hours=8),  # midnight of the trial end
            )
        )
        db.session.commit()
        clock.set(at(TODAY) - timedelta(hours=1))  # last tick before the outage
        run_tick()
        assert smtp_server.messages == []
        clock.set(at(trial_end) + timedelta(hours=2))  # ... down from 07:00 to 10:00 next day
        assert run_tick()["timers"] == 1
        run_tick()
        state = db.session.get(Engagement, engagement.id).state
        subjects = sorted(m["Subject"].split(" — ")[0] for m in smtp_server.messages)
        sent = db.session.scalars(select(Reminder.rule).where(Reminder.status == "sent")).all()
        skipped = db.session.execute(
            select(Reminder.rule, Reminder.reason).where(Reminder.status == "skipped")
        ).all()
        next_overdue = reminders_for("milestone", due_tomorrow.id, "pending")[0].due_at
        expected_next = at(trial_end + timedelta(days=3))
        overdue_at = at(trial_end)
    assert state == "milestone_review"
    # Due in the gap: due_tomorrow (today 08:00) and overdue (trial end 08:00). Both would
    # say "is due today" (issue 32): only the most current, the overdue one, is sent, to
    # the provider and the owner; due_tomorrow is recorded as skipped, with why.
    assert sent == ["milestone_overdue"]
    assert [(rule, reason) for rule, reason in skipped] == [
        (
            "milestone_due_tomorrow",
            f"superseded by milestone_overdue due {overdue_at:%Y-%m-%d %H:%M} UTC "
            "in the same catch-up",
        )
    ]
    assert len(smtp_server.messages) == 2
    assert len(set(smtp_server.message_ids())) == 2
    assert sorted(m["To"] for m in smtp_server.messages) == sorted([provider_email, owner_email])
    assert subjects.count(f"Milestone “Day-90” is due today ({trial_end:%a %-d %b %Y})") == 2
    assert next_overdue == expected_next


def test_a_long_outage_sends_one_overdue_reminder_not_a_burst(smtp_app, smtp_server):
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        engagement, owner, provider = trial_engagement(TODAY)
        add_milestone(engagement, TODAY + timedelta(days=1))
        clock.advance(days=20)  # six overdue occurrences fell due meanwhile
        run_tick()
        rules = sorted(m["X-Tracker-Reminder"] for m in smtp_server.messages)
        statuses = dict(db.session.execute(select(Reminder.rule, Reminder.status)).tuples().all())
        subjects = {m["Subject"] for m in smtp_server.messages}
    # The "due tomorrow" reminder, reached 19 days late, is superseded by the overdue one:
    # recorded as skipped, not sent as a look-alike "is overdue by 19 days".
    assert rules == ["milestone_overdue", "milestone_overdue"]
    assert statuses["milestone_due_tomorrow"] == "skipped"
    assert len(subjects) == 1 and "is overdue by 19 days" in subjects.pop()


def _many_due_reminders(count: int) -> None:
    engagement, _, _ = trial_engagement(TODAY)
    for n in range(count):
        add_milestone(engagement, TODAY + timedelta(days=7), title=f"M{n}")


def _tick_in_thread(app, clock, errors):
    try:
        with app.app_context():
            from tracker.core import clock as clock_module

            clock_module.install(app, clock)
            run_tick()
    except Exception as exc:  # surfaced by the assertion below
        errors.append(exc)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_threads_ticking_at_once_send_each_reminder_once(make_app, smtp_server, backend):
    app = make_app(backend, **smtp_server.config())
    with app.app_context():
        clock = frozen(app)
        _many_due_reminders(40)
        clock.set(at(TODAY) + timedelta(minutes=1))
    errors: list = []
    threads = [
        threading.Thread(target=_tick_in_thread, args=(app, clock, errors)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = smtp_server.message_ids()
    assert len(ids) == 40 and len(set(ids)) == 40
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxEmail.status == "sent")) == 40


def test_a_timer_whose_engagement_left_the_state_is_cancelled(app, ctx):
    clock = frozen(app)
    engagement, _, _ = trial_engagement(TODAY)
    timer = WorkflowTimer(
        engagement_id=engagement.id, event="begin_review", from_state="trial", due_at=T0
    )
    db.session.add(timer)
    engagement.state = "knowledge_transfer"
    db.session.commit()
    clock.advance(minutes=1)
    assert run_tick()["timers"] == 0
    assert db.session.get(WorkflowTimer, timer.id).status == "cancelled"
    assert db.session.get(Engagement, engagement.id).state == "knowledge_transfer"


def test_reminder_for_a_provider_engagement_never_reaches_another_provider(smtp_app, smtp_server):
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        other = factories.make_user("provider", provider="Quanta Labs")
        engagement, _, provider = trial_engagement(TODAY)
        add_milestone(engagement, TODAY + timedelta(days=7))
        clock.set(at(TODAY) + timedelta(minutes=1))
        run_tick()
        assert [m["To"] for m in smtp_server.messages] == [provider.email]
        assert other.email not in {m["To"] for m in smtp_server.messages}


def test_failed_rows_show_in_the_tick_exit_code_healthz_and_are_requeued(
    smtp_app, smtp_server, caplog
):
    from tracker.services.messaging.outbox import enqueue

    runner, client = smtp_app.test_cli_runner(), smtp_app.test_client()
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        for n in range(3):
            enqueue(f"fail:{n}", f"u{n}@example.com", f"Hello {n}", "body")
        db.session.commit()
        ids = sorted(db.session.scalars(select(OutboxEmail.message_id)))
    smtp_server.fail_next(550, "5.1.1 no such user", times=3)
    failed = runner.invoke(args=["scheduler", "tick"])
    assert failed.exit_code == 1, failed.output
    report = json.loads(failed.output)
    assert report["delivery"] == 0 and report["failed"] == {"delivery": 3}
    assert "550 5.1.1 no such user (given up)" in caplog.text
    health = client.get("/healthz").get_json()["scheduler"]
    assert health["failed"]["outbox"] == 3
    assert health["steps"]["delivery"]["last_success_at"] is None
    assert health["steps"]["delivery"]["last_failures"] == 3
    assert "550 5.1.1 no such user" in health["steps"]["delivery"]["last_error"]
    assert health["steps"]["timers"]["last_success_at"] == T0.isoformat()

    clock.set(T0 + timedelta(minutes=5))
    retried = runner.invoke(args=["outbox", "retry"])
    assert retried.exit_code == 0 and "requeued 3 failed emails" in retried.output
    again = runner.invoke(args=["scheduler", "tick"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["delivery"] == 3 and "failed" not in json.loads(again.output)
    assert sorted(smtp_server.message_ids()) == ids  # the same Message-IDs as before
    health = client.get("/healthz").get_json()["scheduler"]
    assert health["failed"]["outbox"] == 0
    assert health["steps"]["delivery"]["last_success_at"] == (T0 + timedelta(minutes=5)).isoformat()


def test_a_reminder_that_raises_is_counted_and_stays_pending(smtp_app, smtp_server, monkeypatch):
    from tracker.notifications import reminder_delivery

    def broken(*args, **kwargs):
        raise ValueError("definition file broken.toml is malformed")

    # `decide` is the judgment both the batch and the one-by-one path run.
    monkeypatch.setattr(reminder_delivery, "decide", broken)
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        engagement, _, _ = trial_engagement(TODAY)
        add_milestone(engagement, TODAY + timedelta(days=7), title="Day-60 baseline")
        when = at(TODAY) + timedelta(minutes=1)
        clock.set(when)
        results = run_tick()
        pending = db.session.scalar(
            select(func.count()).where(Reminder.status == "pending", Reminder.due_at <= when)
        )
    assert results["reminders"] == 0 and results["failed"]["reminders"] >= 1
    assert pending == results["failed"]["reminders"]  # retried after the lease, not lost


def _due_milestones(engagements: int, per_engagement: int) -> None:
    for _ in range(engagements):
        engagement, _, _ = trial_engagement(TODAY)
        for n in range(per_engagement):
            add_milestone(engagement, TODAY + timedelta(days=7), title=f"M{n}")


def test_due_reminders_materialise_in_the_same_statements_for_4_or_36(app, query_counter):
    """A claimed batch is turned into outbox rows set-based: the statement count does not
    grow with the reminders, their engagements or their recipients (no N+1)."""
    from tracker.notifications.reminder_delivery import process_due

    with app.app_context():
        clock = frozen(app)
        clock.set(at(TODAY) + timedelta(minutes=1))  # the "due in 7 days" rule is due
        counts = []
        for engagements, each in ((1, 4), (3, 12)):
            _due_milestones(engagements, each)
            db.session.remove()
            with query_counter() as counter:
                sent = process_due(at(TODAY) + timedelta(minutes=1))
            counts.append((counter.count, sent))
        emails = db.session.scalar(select(func.count()).select_from(OutboxEmail))
    (small, small_sent), (large, large_sent) = counts
    assert (small_sent, large_sent) == (4, 36)
    assert emails > 40  # several provider users (the engagements share one provider)
    assert small == large


def test_three_days_down_then_one_tick_catches_up_once_each(smtp_app, smtp_server):
    """Every overdue item reminded once, saying how late it is now; no look-alikes from
    superseded one-offs; the due timer fired once; one digest per subscriber naming the
    period it covers in the subscriber's zone."""
    from tests.notifications.conftest import subscribe

    with smtp_app.app_context():
        clock = frozen(smtp_app)
        engagement, owner, provider = trial_engagement(TODAY, trial_day=88)
        early = add_milestone(engagement, TODAY + timedelta(days=1), title="Early")
        late = add_milestone(engagement, TODAY + timedelta(days=2), title="Late")
        early_due, late_due = early.due_date, late.due_date
        db.session.add(
            WorkflowTimer(
                engagement_id=engagement.id,
                event="begin_review",
                from_state="trial",
                due_at=at(engagement.trial_end) - timedelta(hours=8),  # in the outage
            )
        )
        new_york = factories.make_user("manager", timezone="America/New_York")
        subscribe(new_york, now=T0)
        subscribe(owner, now=T0, timezone="UTC")
        db.session.commit()
        ny_email, owner_email = new_york.email, owner.email
        run_tick()  # the last tick before the outage (2 Mar 10:00 UTC)
        before = len(smtp_server.messages)
        clock.set(T0 + timedelta(days=3))  # 5 Mar 10:00 UTC; 06:00 in New York
        results = run_tick()
        caught_up = smtp_server.messages[before:]
        fired = db.session.scalars(select(WorkflowTimer.status)).all()
        state = db.session.get(Engagement, engagement.id).state
    reminders = [m for m in caught_up if m["X-Tracker-Reminder"]]
    digests = [m for m in caught_up if m["Subject"].startswith("Engagement digest")]
    subjects = sorted(m["Subject"].split(" — ")[0] for m in reminders)
    assert results["timers"] == 1 and fired == ["fired"] and state == "milestone_review"
    looks = [(m["To"], m["Subject"]) for m in caught_up]
    assert len(looks) == len(set(looks))  # no look-alike duplicates
    assert {m["X-Tracker-Reminder"] for m in reminders} == {"milestone_overdue"}
    by_item = {s for s in subjects}
    assert by_item == {
        f"Milestone “Early” is overdue by 2 days (since {early_due:%a %-d %b %Y})",
        f"Milestone “Late” is overdue by 1 day (since {late_due:%a %-d %b %Y})",
    }
    # Each overdue item once per recipient (the rule's recipients, each once).
    assert subjects.count(next(iter(by_item))) == len(reminders) // 2
    assert sorted((m["To"], m["Subject"].split(":")[0]) for m in digests) == sorted(
        [
            (ny_email, "Engagement digest, 4 Mar 2026"),  # 08:00 on 5 Mar not yet
            (owner_email, "Engagement digest, 5 Mar 2026"),
        ]
    )


def test_each_failure_mode_in_one_batch_is_per_row_visible_and_requeued_by_retry(
    smtp_app, smtp_server
):
    # One batch meets a 550 recipient, a 451 recipient and a connection the relay drops
    # twice: each of those rows gets its own outcome, the others are delivered, the tick
    # says so and exits 1; `flask outbox retry` requeues what was given up (only that:
    # the 4xx rows keep their back-off), and once the relay is fixed everything arrives,
    # each with the Message-ID it had, none twice.
    from tracker.services.messaging.outbox import enqueue

    runner = smtp_app.test_cli_runner()
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        rows = [enqueue(f"mode:{n}", f"u{n}@example.com", f"Mode {n}", "body") for n in range(6)]
        db.session.commit()
        ids = [row.id for row in rows]
        message_ids = sorted(row.message_id for row in rows)
    smtp_server.refuse("u1@example.com", 550, "5.1.1 no such user")
    smtp_server.refuse("u2@example.com", 451, "4.7.1 try later")
    smtp_server.drop_next(2, after=2)  # u0 and u3 answered, then u4 dropped twice

    first = runner.invoke(args=["scheduler", "tick"])
    assert first.exit_code == 1, first.output
    report = json.loads(first.output)
    assert report["delivery"] == 3 and report["failed"] == {"delivery": 3}
    assert sorted(m["To"] for m in smtp_server.messages) == [
        "u0@example.com",
        "u3@example.com",
        "u5@example.com",
    ]
    with smtp_app.app_context():
        outcome = {
            row.id: (row.status, row.attempts, (row.last_reply or "")[:3])
            for row in db.session.scalars(select(OutboxEmail))
        }
    assert [outcome[i] for i in ids] == [
        ("sent", 1, "250"),
        ("failed", 1, "550"),
        ("pending", 1, "451"),
        ("sent", 1, "250"),
        ("pending", 1, "con"),  # "connection closed by the server", retried later
        ("sent", 1, "250"),
    ]

    retried = runner.invoke(args=["outbox", "retry"])
    assert retried.exit_code == 0 and "requeued 1 failed email" in retried.output
    received = smtp_server.message_ids()
    smtp_server.clear()  # the relay is fixed
    with smtp_app.app_context():
        clock.set(T0 + timedelta(minutes=5))  # past the 4xx rows' one-minute back-off
    second = runner.invoke(args=["scheduler", "tick"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)["delivery"] == 3
    assert sorted(m["To"] for m in smtp_server.messages) == [
        "u1@example.com",
        "u2@example.com",
        "u4@example.com",
    ]
    assert sorted(received + smtp_server.message_ids()) == message_ids  # each once, its own id
    with smtp_app.app_context():
        assert set(db.session.scalars(select(OutboxEmail.status))) == {"sent"}


def test_an_idle_tick_is_one_question_and_one_bookkeeping_write(app, query_counter):
    """Nothing due anywhere (future rows of every kind): the tick asks every step at once,
    runs none, and records all six in one upsert (ADR 0178)."""
    from tracker.scheduling.status import scheduler_health

    with app.app_context():
        clock = frozen(app)
        engagement, _, _ = trial_engagement(TODAY)
        add_milestone(engagement, TODAY + timedelta(days=40))  # plans future reminders
        run_tick()  # catches up health and readiness once
        assert db.session.scalar(select(func.count()).select_from(Reminder)) > 0
        clock.advance(minutes=1)
        with query_counter() as counter:
            results = run_tick()
        steps = scheduler_health(clock()).steps
    assert results == {step.name: 0 for step in TICK_STEPS}
    assert len(counter.statements) == 2, counter.statements
    assert counter.statements[0].lstrip().upper().startswith("SELECT")
    assert "scheduler_step" in counter.statements[1]
    assert {name: s["last_success_at"] for name, s in steps.items()} == {
        step.name: clock().isoformat() for step in TICK_STEPS
    }


def test_an_idle_tick_compiles_no_statement(app):
    """Every statement of an idle tick comes from SQLAlchemy's compiled cache: the
    bookkeeping upsert built with a dialect's insert() had no cache key and was compiled
    again on every tick (docs/benchmarks.md, remind32)."""
    from sqlalchemy import event
    from sqlalchemy.engine.interfaces import CacheStats

    with app.app_context():
        clock = frozen(app)
        engagement, _, _ = trial_engagement(TODAY)
        add_milestone(engagement, TODAY + timedelta(days=40))
        run_tick()
        clock.advance(minutes=1)
        run_tick()  # the idle tick's statements are compiled (and cached) here
        seen = []

        def note(conn, cursor, statement, parameters, context, executemany):
            seen.append((context.cache_hit, statement.split()[0]))

        event.listen(db.engine, "before_cursor_execute", note)
        try:
            clock.advance(minutes=1)
            assert run_tick() == {step.name: 0 for step in TICK_STEPS}
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
    assert len(seen) == 2, seen
    assert {hit for hit, _ in seen} == {CacheStats.CACHE_HIT}, seen


def test_work_queued_by_an_earlier_step_is_done_in_the_same_tick(smtp_app, smtp_server):
    """The question is asked at the start, when the outbox is empty; the reminder step then
    queues an email, and delivery runs anyway because an earlier step did something."""
    with smtp_app.app_context():
        clock = frozen(smtp_app)
        engagement, _, provider = trial_engagement(TODAY)
        add_milestone(engagement, TODAY + timedelta(days=7))
        clock.set(at(TODAY) + timedelta(minutes=1))
        assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0
        results = run_tick()
        address = provider.email
    assert results["reminders"] == 1 and results["delivery"] == 1
    assert [m["To"] for m in smtp_server.messages] == [address]
