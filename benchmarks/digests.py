"""Benchmark: digests for 1,000 subscribers over 10,000 engagements, with SQL counts per digest.

Run: .venv/bin/python benchmarks/digests.py [--subscribers N] [--engagements N] [--database-url URL]
Rows are generated with bulk INSERTs into a fresh SQLite file (or an empty PostgreSQL database
given with --database-url). Subscribers: 30% managers following everything (their digest
lists the 50 most urgent of 10,000), 30% provider users (their organisation's engagements),
40% stakeholders with 20 chosen engagements each. Every subscription is due; one run_due()
materialises, renders and queues every digest.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

# Import the app from the repository root.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import event, insert, select  # noqa: E402

from config import TestingConfig  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import (  # noqa: E402
    AuditEvent,
    ChecklistItem,
    Engagement,
    Milestone,
    MilestoneUpdate,
    ProviderOrganisation,
    Subscription,
    User,
    engagement_follower,
    subscription_engagement,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
PROVIDERS = 20
STATES = ["discovery", "trial", "trial", "milestone_review", "extension", "knowledge_transfer"]


class StatementLog(list):
    """A before_cursor_execute listener that keeps every SQL statement sent."""

    def __call__(self, conn, cursor, statement, *rest):
        self.append(statement)


def _bulk(model_or_table, rows: list[dict], chunk: int = 5000) -> None:
    for start in range(0, len(rows), chunk):
        db.session.execute(insert(model_or_table), rows[start : start + chunk])


def _workflow() -> tuple[int, str]:
    """The shipped definition's version and hash, so engagements run on the file (as real
    ones do); a hash no file or record matches made every look-up a query."""
    from tracker.services.workflow.workflow_registry import catalog

    definition = catalog().latest("staff_augmentation")
    return definition.version, definition.content_hash


def _engagement_row(i: int, owner_id: int, rng: random.Random, workflow: tuple) -> dict:
    state = STATES[i % len(STATES)]
    start = TODAY - timedelta(days=rng.randint(5, 200))
    health = rng.choice(["green", "green", "amber", "red"])
    return {
        "title": f"Engagement {i:05d}",
        "provider_id": 1 + i % PROVIDERS,
        "structure": "pod_2",
        "owner_id": owner_id,
        "state": state,
        "discovery_start": start - timedelta(days=21),
        "trial_start": start,
        "trial_end": start + timedelta(days=90),
        "period_start": start,
        "period_end": start + timedelta(days=90),
        "monthly_cost": 30000,
        "health": health,
        "effective_health": health,  # what the flush hook would store (no override)
        "health_reasons": [{"level": "amber", "message": "Milestone 'Day-60' is at risk"}],
        "internal_notes": "Budget approved by finance.",
        "workflow_name": "staff_augmentation",
        "workflow_version": workflow[0],
        "workflow_hash": workflow[1],
        "version": 1,
    }


def _children(ids: list[int], rng: random.Random) -> None:
    """3 milestones, 4 checklist items, 1 milestone update and 1 transition per engagement."""
    milestones, items, audits = [], [], []
    for engagement_id in ids:
        for offset in (-20, 5, 40):
            due = TODAY + timedelta(days=offset + rng.randint(-3, 3))
            milestones.append(
                {
                    "engagement_id": engagement_id,
                    "title": f"Day {offset}",
                    "due_date": due,
                    "status": "on_track",
                    "period": 0,
                    "version": 1,
                }
            )
        for n in range(4):
            due = TODAY + timedelta(days=rng.randint(-30, 30))
            items.append(
                {
                    "engagement_id": engagement_id,
                    "kind": "prerequisite",
                    "title": f"Item {n}",
                    "due_date": due,
                    "status": rng.choice(["open", "done"]),
                    "position": n,
                    "completed_at": NOW - timedelta(hours=rng.randint(1, 60)),
                }
            )
        audits.append(
            {
                "engagement_id": engagement_id,
                "actor_label": "Dana Lee",
                "kind": "transition",
                "event": "start_trial",
                "from_state": "discovery",
                "to_state": "trial",
                "data": {},
                "created_at": NOW - timedelta(hours=rng.randint(1, 60)),
            }
        )
    _bulk(Milestone, milestones)
    _bulk(ChecklistItem, items)
    _bulk(AuditEvent, audits)
    first = db.session.scalars(select(Milestone.id).order_by(Milestone.id)).all()[::3]
    _bulk(
        MilestoneUpdate,
        [
            {
                "milestone_id": m,
                "from_status": "planned",
                "status": "on_track",
                "note": "",
                "evidence": [],
                "created_at": NOW - timedelta(hours=5),
            }
            for m in first
        ],
    )


def _users(count: int, role: str, offset: int, provider=None) -> list[dict]:
    return [
        {
            "email": f"{role}{offset + n}@bench.example",
            "name": f"{role} {offset + n}",
            "role": role,
            "provider_id": provider(n) if provider else None,
            "timezone": "UTC",
            "is_active": True,
            "session_nonce": "x",
        }
        for n in range(count)
    ]


def seed(subscribers: int, engagements: int) -> None:
    """Bulk-insert providers, users, engagements, their children and due subscriptions."""
    rng = random.Random(7)
    _bulk(ProviderOrganisation, [{"name": f"Provider {n}"} for n in range(1, PROVIDERS + 1)])
    _bulk(User, _users(1, "admin", 0))
    owner_id = db.session.scalar(select(User.id))
    workflow = _workflow()
    rows = [_engagement_row(i, owner_id, rng, workflow) for i in range(engagements)]
    _bulk(Engagement, rows)
    ids = db.session.scalars(select(Engagement.id)).all()
    _children(ids, rng)
    managers, providers = int(subscribers * 0.3), int(subscribers * 0.3)
    _bulk(User, _users(managers, "manager", 0))
    _bulk(User, _users(providers, "provider", 0, provider=lambda n: 1 + n % PROVIDERS))
    _bulk(User, _users(subscribers - managers - providers, "stakeholder", 0))
    _subscriptions(ids, rng)
    db.session.commit()


def _subscriptions(engagement_ids: list[int], rng: random.Random) -> None:
    users = db.session.execute(select(User.id, User.role, User.provider_id).where(User.id > 1))
    subs, follows, chosen = [], [], []
    for user_id, role, provider_id in users:
        scope = {"manager": "all", "provider": "provider", "stakeholder": "chosen"}[role]
        subs.append(
            {
                "user_id": user_id,
                "scope": scope,
                "provider_id": provider_id,
                "frequency": "daily",
                "send_time": clock_time(8),
                "timezone": "UTC",
                "is_active": True,
                "next_due_at": NOW - timedelta(hours=1),
                "created_at": NOW - timedelta(days=9),
            }
        )
        if role == "stakeholder":
            for engagement_id in rng.sample(engagement_ids, 20):
                follows.append({"engagement_id": engagement_id, "user_id": user_id})
                chosen.append({"subscription_id": len(subs), "engagement_id": engagement_id})
    _bulk(Subscription, subs)
    _bulk(engagement_follower, follows)
    _bulk(subscription_engagement, chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--engagements", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="digest-bench-")
    url = args.database_url or f"sqlite:///{workdir}/bench.db"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_DIR=f"{workdir}/mail")
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        seed(args.subscribers, args.engagements)
        print(
            f"seeded {args.engagements} engagements, {args.subscribers} subscribers "
            f"in {time.perf_counter() - started:.1f} s"
        )
        run(app)


def run(app) -> None:
    from tracker.models import DigestRun
    from tracker.notifications import digest_content
    from tracker.notifications.digests import run_due

    gathers = []
    real_gather = digest_content.gather

    def counting_gather(*args):
        gathers.append(1)
        return real_gather(*args)

    digest_content.gather = counting_gather
    statements = StatementLog()
    event.listen(db.engine, "before_cursor_execute", statements)
    started = time.perf_counter()
    result = run_due(NOW)
    elapsed = time.perf_counter() - started
    digest_content.gather = real_gather
    print(f"distinct scopes gathered: {len(gathers)} (for {result.sent} digests)")
    print(f"{platform.python_version()} on {db.engine.dialect.name}, {platform.machine()}")
    print(f"digests sent: {result.sent}, skipped: {result.skipped}")
    print(f"total: {elapsed:.1f} s, {1000 * elapsed / max(result.sent, 1):.1f} ms per digest")
    print(
        f"SQL statements: {len(statements)}, {len(statements) / max(result.sent, 1):.1f} per digest"
    )
    shown = db.session.execute(select(DigestRun.data)).scalars().all()
    sizes = sorted({len(d.get("engagements", [])) for d in shown})
    print(f"engagements shown per digest: {sizes[0]}..{sizes[-1]}")
    event.remove(db.engine, "before_cursor_execute", statements)
    floor()
    per_digest(app)


def floor() -> None:
    """The floor: the same digests rendered (HTML + text) from content already gathered,
    with no claim, no bookkeeping, no outbox write: what one run cannot go below."""
    from tracker.notifications.digest_content import ScopeCache
    from tracker.notifications.digests import build_message

    subscriptions = db.session.scalars(select(Subscription).order_by(Subscription.id)).all()
    users = {u.id: u for u in db.session.scalars(select(User))}
    cache = ScopeCache()
    since = NOW - timedelta(days=1)
    for subscription in subscriptions:  # warm: every scope gathered once
        build_message(subscription, users[subscription.user_id], since, NOW, scopes=cache)
    started = time.perf_counter()
    for subscription in subscriptions:
        build_message(subscription, users[subscription.user_id], since, NOW, scopes=cache)
    elapsed = time.perf_counter() - started
    print(
        f"floor (render only, {len(subscriptions)} digests, scopes cached): {elapsed:.1f} s, "
        f"{1000 * elapsed / max(len(subscriptions), 1):.1f} ms per digest"
    )


def per_digest(app) -> None:
    """Statements for one digest showing 1..50 engagements: the count must not grow with it."""
    from tracker.notifications.digests import build_message

    for scope in ("chosen", "provider", "all"):
        subscription = db.session.scalar(select(Subscription).where(Subscription.scope == scope))
        user = db.session.get(User, subscription.user_id)
        statements = StatementLog()
        event.listen(db.engine, "before_cursor_execute", statements)
        message = build_message(subscription, user, NOW - timedelta(days=1), NOW)
        event.remove(db.engine, "before_cursor_execute", statements)
        print(
            f"  scope={scope:<8} shows {len(message.content.engagements):>2} of "
            f"{message.content.total:>5}: {len(statements)} SQL statements"
        )


if __name__ == "__main__":
    main()
