"""Red/amber/green health, derived from the data by one function, with a manager override.

`compute_health` is the only place that judges. Each rule adds a reason with a
stable code, a level and a sentence that names the item; the worst level wins.
Thresholds come from the definition's [health] table (workflows/meaning.py):
- milestone_overdue: past its due date without a final verdict: amber; red once
  more than `overdue_red_after` late or once its period has ended;
- milestone_blocked: red; milestone_at_risk: amber; milestone_missed (a missed
  verdict in the current period): red;
- milestone_stale: no provider update on an open milestone of the running period
  for `stale_after`: amber;
- checklist_overdue: an open checklist item past its due date: amber; red after
  `checklist_red_after`;
- paused (a state whose phase is "paused"): amber, "On hold since …, reason …"; on
  hold the clock stops, so only blocked, at-risk and missed milestones count beside it;
- period_ending: the running period ends within `period_ending_within` with
  milestones not yet final: amber; period_over: it has ended and no review began;
  period_without_milestones: a running period with nothing to judge it by: amber.
- target_at_risk: an open milestone's target not met within `target_warning_within`
  of its due date: amber, naming the metric, its latest value and the target;
  target_missed: past due, a target not met and no verdict: red; measurement_stale:
  a metric with an open target not measured for `measurement_stale_after`: amber.
  Each links to the metric (`metric-<id>`); target statuses come from the one judgment
  (services/evidence/judgment.py).
- access_open_after_end: a team member's end date is `open_access_amber_after` or
  more past and some of their access entries are not revoked: amber, naming the
  member and the systems (issue 30).
- drift: approved change requests since the trial began slipped the schedule more than
  `drift_slip_after` or added more than `drift_cost_percent` of the monthly cost: amber,
  naming the requests (issue 31; the sum is services/change_requests/drift.py's).
So nothing overdue is ever Green. The rules live by family: `health_milestones` (milestones,
the period, a hold), `health_evidence` (targets, measurements), `health_obligations`
(checklist items, open access, drift); the facts they read and which written rows are
facts: `health_facts`. This module is the one entry, `compute_health`, and its caching.
Health is cached on the engagement row so lists never recompute it: the unit of work
re-judges the engagements whose facts it wrote before it commits (services/derived.py),
and the scheduler's `health` step (`refresh_due`) recomputes what time alone changes:
every live engagement once a day (UTC), and overrides that have expired.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, inspect, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, Health, User
from tracker.models.base import health_rank
from tracker.models.engagement import cached_values_update
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.judgments import engagement_counts
from tracker.services.judgments.health_evidence import target_reasons
from tracker.services.judgments.health_facts import (  # noqa: F401  (the public names)
    HEALTH_INPUTS,
    ChecklistDueFact,
    HealthFacts,
    MilestoneFact,
    OpenAccessFact,
    engagements_inserted,
    engagements_touched,
    gather_facts,
)
from tracker.services.judgments.health_history import change_row, record_changes
from tracker.services.judgments.health_milestones import (
    milestone_reasons,
    on_hold,
    period_reasons,
)
from tracker.services.judgments.health_obligations import (
    access_reasons,
    checklist_reasons,
    drift_reasons,
)
from tracker.services.judgments.health_reasons import worst_of
from tracker.services.judgments.readiness import store_readiness
from tracker.services.workflow import lifecycle
from workflows import State
from workflows.meaning import HealthRules

DAILY_BATCH = 2000


def compute_health(
    engagement,
    facts: HealthFacts,
    today: date,
    *,
    state: State | None = None,
    rules: HealthRules | None = None,
) -> tuple[str, list]:
    """The derived health and every reason for it, as (colour, [{code, level, message}])."""
    state = state or lifecycle.state_of(engagement)
    rules = rules or lifecycle.health_rules(engagement)
    if state.final:
        return Health.GREEN, []
    if state.phase == "paused":
        return on_hold(engagement, facts)
    reasons = milestone_reasons(engagement, state, facts, today, rules)
    reasons += checklist_reasons(facts, today, rules)
    reasons += period_reasons(engagement, state, facts, today, rules)
    reasons += target_reasons(engagement, state, facts, today, rules)
    reasons += access_reasons(facts, today, rules)
    reasons += drift_reasons(engagement, facts, rules)
    return worst_of(reasons), reasons


def refresh_health(engagement_ids: list[int], *, now: datetime | None = None) -> None:
    """Recompute and cache health for these engagements (no commit).

    A health that moved is written through the ORM (the flush then records the history
    row and the `engagement.health_changed` webhook, derived.py). Reasons that moved under
    an unchanged health take one version-checked UPDATE (`_store_reasons`, ADR 0261). One
    where nothing moved only has its computed-at stamp moved, and only from another day
    (`_stamp_computed`), with a plain UPDATE that leaves the row's version and updated_at
    alone (a derived value never makes an editor's copy stale)."""
    now = now or clock.now()
    ids = list(engagement_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        facts = gather_facts(chunk, now.date())
        stamped, reasons_only = [], []
        for engagement in _engagements(chunk):
            health, reasons = compute_health(engagement, facts[engagement.id], now.date())
            if engagement.health == health and engagement.health_reasons == reasons:
                stamped.append(engagement)
            elif engagement.health == health and not _effective_moves(engagement, now):
                reasons_only.append((engagement, reasons))
            else:
                engagement.health, engagement.health_reasons = health, reasons
                engagement.health_computed_at = now
        _store_reasons(reasons_only, now)
        _stamp_computed(stamped, now)


def _effective_moves(engagement: Engagement, now: datetime) -> bool:
    """Whether a flush of this engagement would move its effective health with the health
    unchanged (an override that has ended, not yet caught up by the scheduler): reasons
    that moved then take the ORM path as before, whose flush hook writes it, records its
    history and queues its webhook."""
    return engagement.health_at(now) != engagement.effective_health


# Reasons that moved while the health stayed (most milestone updates: a status flip
# rewrites its reason, not the colour), written as the ORM would but without a flush:
# checked against the version this unit of work read, so two writers judging from
# snapshots that each miss the other's change cannot both store their reasons (the loser
# gets the ORM's StaleDataError, a 409). The version moves, since the reasons are part of
# the engagement's representation (its ETag); updated_at does not (a derived value, like
# every cached column). ADR 0261.
_ENGAGEMENT = Engagement.__table__
_REASONS_UPDATE = (
    update(_ENGAGEMENT)
    .where(_ENGAGEMENT.c.id == bindparam("row_id"), _ENGAGEMENT.c.version == bindparam("seen"))
    .values(
        health_reasons=bindparam("new_reasons"),
        health_computed_at=bindparam("computed_at"),
        version=_ENGAGEMENT.c.version + 1,
        updated_at=_ENGAGEMENT.c.updated_at,
    )
)


def _store_reasons(changed: list[tuple[Engagement, list]], now: datetime) -> None:
    """Write each engagement's new reasons with a version check; the objects then hold
    what was written (the response's ETag reads `version`). Raises StaleDataError, as the
    ORM's own check does, when another transaction changed a row since it was read."""
    if not changed:
        return
    rows = [
        {"row_id": e.id, "seen": e.version, "new_reasons": reasons, "computed_at": now}
        for e, reasons in changed
    ]
    connection = db.session.connection()
    if connection.dialect.supports_sane_multi_rowcount or len(rows) == 1:
        written = connection.execute(_REASONS_UPDATE, rows).rowcount
    else:
        written = sum(connection.execute(_REASONS_UPDATE, row).rowcount for row in rows)
    if written != len(rows):
        raise StaleDataError(
            f"UPDATE of engagement health reasons expected to match {len(rows)} row(s); "
            f"{written} were matched (a concurrent change)."
        )
    for engagement, reasons in changed:
        set_committed_value(engagement, "health_reasons", reasons)
        set_committed_value(engagement, "health_computed_at", now)
        set_committed_value(engagement, "version", engagement.version + 1)


def _stamp_computed(engagements: list[Engagement], now: datetime) -> None:
    """Move the computed-at stamp of engagements judged unchanged, where it is from
    another UTC day. The stamp only answers the scheduler's "computed before today's
    midnight?" (`_due`), which a stamp from earlier the same day answers as `now` would,
    so most commits that change nothing write nothing: no statement, and on PostgreSQL no
    new row version in the engagement's 17 indexes (the stamp is indexed). ADR 0261."""
    day = clock.midnight(now)
    engagements = [
        e
        for e in engagements
        if e.health_computed_at is None or clock.midnight(e.health_computed_at) != day
    ]
    if not engagements:
        return
    db.session.execute(
        cached_values_update(health_computed_at=now),
        [{"row_id": engagement.id} for engagement in engagements],
        execution_options={"synchronize_session": False},
    )
    for engagement in engagements:
        set_committed_value(engagement, "health_computed_at", now)


def _engagements(ids: list[int]) -> list[Engagement]:
    """These engagements, taking those the session already holds, unexpired, as they are:
    the service that changed one loaded it in this transaction, so a single-engagement
    refresh (a milestone update, a checklist tick) reads no engagement row again."""
    held, missing = [], []
    for engagement_id in ids:
        obj = db.session.identity_map.get(identity_key(Engagement, engagement_id))
        if obj is not None and not inspect(obj).expired_attributes:
            held.append(obj)
        else:
            missing.append(engagement_id)
    if missing:
        held.extend(db.session.scalars(select(Engagement).where(Engagement.id.in_(missing))))
    return held


def _due(now: datetime, midnight: datetime):
    """The engagements `refresh_due` works on: health computed before today's `midnight`
    (or never), an override that has ended by `now`, and readiness never scored (rows
    from before the readiness cache, migration 0002)."""
    computed = Engagement.health_computed_at
    return (
        select(Engagement.id).where(
            Engagement.closed_at.is_(None), or_(computed.is_(None), computed < midnight)
        ),
        select(Engagement.id).where(
            Engagement.health_override_until <= now,
            Engagement.effective_health != Engagement.health,
        ),
        select(Engagement.id).where(Engagement.readiness_score.is_(None)),
    )


def pending(now, midnight):
    """SQL truth value: `refresh_due` has work (one EXISTS per condition, each indexed)."""
    return or_(*(query.exists() for query in _due(now, midnight)))


def refresh_due(now: datetime | None = None, *, batch: int = DAILY_BATCH) -> int:
    """The scheduler step: recompute health computed before today, or whose override ended.

    Readiness is re-cached for the same engagements, and for any never scored.
    At most `batch` engagements per call (a tick), so 10,000 engagements are caught
    up within a few ticks after midnight without one long transaction. Writes with a
    plain UPDATE: a derived value must not bump the row's version (that would make
    every editor's ETag stale overnight) nor its `updated_at`. Commits.
    """
    now = now or clock.now()
    queries = _due(now, clock.midnight(now))
    ids, expired, unscored = (db.session.scalars(q.limit(batch)).all() for q in queries)
    chosen = sorted(set(ids) | set(expired))
    if chosen:
        store_health(chosen, now)
    if chosen or unscored:
        store_readiness(set(chosen) | set(unscored))
    commit_and_derive()
    return len(chosen) + len(set(unscored) - set(chosen))


def store_health(engagement_ids: list[int], now: datetime) -> None:
    """Judge these engagements and cache the result with a plain UPDATE (no commit)."""
    statement = cached_values_update(
        health=bindparam("new_health"),
        health_reasons=bindparam("new_reasons"),
        effective_health=bindparam("new_effective"),
        health_rank=bindparam("new_rank"),
        health_computed_at=now,
    )
    facts = gather_facts(engagement_ids, now.date())
    rows, changes, closed, moves = [], [], {}, []
    # In id order, as store_readiness locks: two schedulers refreshing the same rows
    # take their row locks in the same order and cannot deadlock.
    for engagement in db.session.scalars(
        select(Engagement).where(Engagement.id.in_(engagement_ids)).order_by(Engagement.id)
    ):
        health, reasons = compute_health(engagement, facts[engagement.id], now.date())
        live = engagement.has_live_override(now)
        effective = engagement.health_override if live else str(health)
        rows.append(
            {
                "row_id": engagement.id,
                "new_health": str(health),
                "new_reasons": reasons,
                "new_effective": effective,
                "new_rank": health_rank(effective),
            }
        )
        if effective != engagement.effective_health:
            changes.append(change_row(engagement.id, effective, health, now))
            if engagement.closed_at is not None:
                closed[engagement.id] = engagement.closed_at
            state, closed_at = engagement.state, engagement.closed_at
            moves.append(
                (
                    engagement_counts.key_of(state, engagement.effective_health, closed_at),
                    engagement_counts.key_of(state, effective, closed_at),
                )
            )
    db.session.execute(statement, rows, execution_options={"synchronize_session": False})
    record_changes(db.session, changes, closed)  # executemany, like the UPDATE above
    engagement_counts.record_moves(db.session, moves)  # no flush sees this UPDATE


def refresh_all(*, now: datetime | None = None) -> int:
    """Recompute every live engagement (time alone changes health); commits."""
    ids = list(db.session.scalars(select(Engagement.id).where(Engagement.closed_at.is_(None))))
    refresh_health(ids, now=now)
    db.session.flush()
    store_readiness(ids)
    commit_and_derive()
    return len(ids)


def override_health(
    actor: User, engagement_id: int, health: str | None, note: str, until: datetime | None
) -> Engagement:
    """Set (or clear, with health=None) a manager's override; a note is required."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.EDIT, engagement)
    errors = {}
    if health is not None and health not in {h.value for h in Health}:
        errors["health"] = ["Choose green, amber or red."]
    if health is not None and not (note or "").strip():
        errors["note"] = ["Say why you override the derived health."]
    if until is not None and until <= clock.now():
        errors["until"] = ["The expiry must be in the future."]
    if errors:
        raise ValidationFailed("The override could not be saved.", errors=errors)
    engagement.health_override = health
    engagement.health_override_note = note.strip() if health else None
    engagement.health_override_until = until if health else None
    engagement.health_override_by_id = actor.id if health else None
    engagement.health_override_at = clock.now() if health else None
    audit.record(
        engagement,
        actor,
        "health_override",
        reason=note or None,
        data={"health": health, "until": until.isoformat() if until else None},
    )

    commit_and_derive()
    return engagement
