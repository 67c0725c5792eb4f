"""A generated data set at scale for `flask seed-demo --scale N` (benchmarks, load tests).

Engagement number i of seed s is drawn from its own random stream, so the data
is the same whatever the chunking, and a second run with a larger N only adds
the missing engagements (idempotent per seed). People and providers of a seed
are marked by name (`… [s42]`, `…@s42.scale.example`). Rows go in with bulk
INSERTs per chunk (scale_data.bulk), never ORM objects one by one; the cached
health is computed once the rows are in, by services.judgments.health.store_health from the same
facts the services read, so the generated data is judged exactly as the app judges.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, date, datetime
from datetime import time as time_of_day

from sqlalchemy import func, insert, select, text

from tracker.auth.passwords import hash_password
from tracker.core import clock
from tracker.demo.health_history import add_history
from tracker.demo.scale_data.bulk import insert_plans
from tracker.demo.scale_data.plans import FIRST, LAST, People, build_plan
from tracker.extensions import db
from tracker.models import Engagement, ProviderOrganisation, User
from tracker.services.derived import SET_BASED_LOAD
from tracker.services.judgments import engagement_counts
from tracker.services.workflow.workflow_registry import latest_definition

PASSWORD = "demo-password"
CHUNK = 250
PROVIDERS, USERS_PER_PROVIDER, MANAGERS, INTERNALS = 50, 12, 150, 250  # ~1,000 users
ORG_A = ["Northwind", "Quanta", "Helix", "Aurora", "Cobalt", "Lumen", "Vector", "Orbit", "Nimbus"]
ORG_B = ["ML", "Labs", "Analytics", "AI", "Data Works", "Partners"]


def generate(n: int, *, seed: int = 42, today: date | None = None) -> int:
    """Make sure engagements 0..n-1 of this seed exist; commits; returns how many were added."""
    started, cpu = time.perf_counter(), time.process_time()
    today = today or clock.now().date()
    people = _ensure_people(seed)
    existing = db.session.scalar(
        select(func.count(Engagement.id)).where(Engagement.provider_id.in_(people.providers))
    )
    definition = latest_definition()
    # The rows are judged below, set-based (store_health): the unit of work must not
    # re-judge them one by one at each chunk's commit (services/derived.py).
    db.session.info[SET_BASED_LOAD] = True
    try:
        for low in range(existing, n, CHUNK):
            plans = [
                build_plan(i, seed, people, definition, today)
                for i in range(low, min(n, low + CHUNK))
            ]
            insert_plans(plans)
            db.session.commit()
    finally:
        db.session.info.pop(SET_BASED_LOAD, None)
    added = max(0, n - existing)
    if added:
        judged = _cache_health(people, today)
        add_history(judged, today)
        _cache_readiness(people)
        # The rows went in with bulk INSERTs, which no flush counted (docs/adr/0259).
        engagement_counts.recount(db.session)
        # Planner statistics for the loaded tables (autovacuum would do it later on
        # PostgreSQL; SQLite never does): without them SQLite counts a page's overdue
        # checklist items through the status index, ~30x slower (docs/adr/0070).
        db.session.commit()
        _analyze()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"scale_data: {added} engagements added in {elapsed:.1f} s ({cpu:.1f} s CPU)",
        file=sys.stderr,
    )
    return added


def _analyze() -> None:
    """Planner statistics, and on PostgreSQL the visibility map too.

    Index-only scans (the dashboard's counts and health-ranked page) read the heap
    for pages the visibility map does not mark all-visible; VACUUM sets it, and it
    cannot run inside a transaction, hence the autocommit connection.
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def _cache_health(people: People, today: date) -> list[int]:
    """Bulk INSERTs skip the services: judge the generated rows once, as the app would."""
    from tracker.services.judgments.health import store_health

    missing = db.session.scalars(
        select(Engagement.id).where(
            Engagement.provider_id.in_(people.providers), Engagement.health_computed_at.is_(None)
        )
    ).all()
    now = datetime.combine(today, time_of_day(12), UTC)
    for start in range(0, len(missing), 500):
        store_health(missing[start : start + 500], now)
    db.session.commit()
    return list(missing)


def _cache_readiness(people: People) -> None:
    """Bulk INSERTs skip the readiness session hook: score the generated rows once."""
    from tracker.services.judgments.readiness import store_readiness

    missing = db.session.scalars(
        select(Engagement.id).where(
            Engagement.provider_id.in_(people.providers), Engagement.readiness_score.is_(None)
        )
    ).all()
    store_readiness(missing)
    db.session.commit()


# People ------------------------------------------------------------------------------


def _ensure_people(seed: int) -> People:
    """The seed's providers and users, created in bulk the first time."""
    tag = f"[s{seed}]"
    if not db.session.scalar(
        select(func.count(ProviderOrganisation.id)).where(
            ProviderOrganisation.name.like(f"% {tag}")
        )
    ):
        _create_people(seed, tag)
        db.session.commit()
    return _load_people(seed, tag)


def _create_people(seed: int, tag: str) -> None:
    rng = random.Random(f"people-{seed}")
    names = [f"{a} {b} {tag}" for a in ORG_A for b in ORG_B][:PROVIDERS]
    db.session.execute(insert(ProviderOrganisation), [{"name": name} for name in names])
    ids = db.session.scalars(
        select(ProviderOrganisation.id).where(ProviderOrganisation.name.in_(names))
    ).all()
    password_hash = hash_password(PASSWORD)
    rows = [("manager", None)] * MANAGERS + [("stakeholder", None)] * INTERNALS
    rows += [("provider", pid) for pid in ids for _ in range(USERS_PER_PROVIDER)]
    users = []
    for j, (role, provider_id) in enumerate(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        users.append(
            {
                "email": f"{first}.{last}.{j}@s{seed}.scale.example".lower(),
                "name": f"{first} {last}",
                "role": role,
                "provider_id": provider_id,
                "password_hash": password_hash,
            }
        )
    db.session.execute(insert(User), users)


def _load_people(seed: int, tag: str) -> People:
    providers = db.session.scalars(
        select(ProviderOrganisation.id)
        .where(ProviderOrganisation.name.like(f"% {tag}"))
        .order_by(ProviderOrganisation.id)
    ).all()
    people = People(list(providers), {pid: [] for pid in providers}, [], [])
    query = select(User.id, User.name, User.role, User.provider_id).where(
        User.email.like(f"%@s{seed}.scale.example")
    )
    for row in db.session.execute(query.order_by(User.id)):
        if row.role == "provider":
            people.provider_users[row.provider_id].append((row.id, row.name))
        else:
            (people.managers if row.role == "manager" else people.internals).append(
                (row.id, row.name)
            )
    return people
