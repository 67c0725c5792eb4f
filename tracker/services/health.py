"""Red/amber/green health, derived from the data in one place, with a manager override.

Rules (each adds a reason; the worst colour wins):
- red: a milestone of the current period is missed or blocked;
- amber: a milestone is at risk; no provider update for 14 days while the period
  runs; an overdue prerequisite; the trial or period ends within 14 days and no
  review has begun.
Health is cached on the engagement row so lists never recompute it: services
refresh it when they change its inputs, and the scheduler's `health` step
(`refresh_due`) recomputes what time alone changes: every live engagement once a
day (UTC), and the stored effective health of overrides that have expired.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import bindparam, func, or_, select

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.db_setup import utcnow
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, Health, Milestone, MilestoneUpdate, User
from tracker.models.engagement import cached_values_update
from tracker.services import audit
from tracker.services.readiness import store_readiness

STALE_AFTER = timedelta(days=14)
ENDING_SOON = timedelta(days=14)
RUNNING_STATES = ("trial", "extension")
_RANK = {Health.GREEN: 0, Health.AMBER: 1, Health.RED: 2}
DAILY_BATCH = 2000


@dataclass(frozen=True)
class HealthFacts:
    """What health needs to know about one engagement beyond its own row."""

    milestones: tuple = ()  # (title, status, period)
    last_update_at: datetime | None = None
    overdue_prerequisites: tuple = ()  # titles


def compute_health(engagement: Engagement, facts: HealthFacts, today: date) -> tuple[str, list]:
    """The derived health and every reason for it, as (colour, [{level, message}])."""
    if engagement.state == "closed":
        return Health.GREEN, []
    reasons = _milestone_reasons(engagement, facts)
    reasons += [
        {"level": Health.AMBER, "message": f"Prerequisite '{title}' is overdue"}
        for title in facts.overdue_prerequisites
    ]
    reasons += _period_reasons(engagement, facts, today)
    worst = max((r["level"] for r in reasons), key=_RANK.__getitem__, default=Health.GREEN)
    return worst, reasons


def _milestone_reasons(engagement: Engagement, facts: HealthFacts) -> list[dict]:
    reasons = []
    for title, status, period in facts.milestones:
        if period != engagement.current_period:
            continue
        if status in ("missed", "blocked"):
            reasons.append({"level": Health.RED, "message": f"Milestone '{title}' is {status}"})
        elif status == "at_risk":
            reasons.append({"level": Health.AMBER, "message": f"Milestone '{title}' is at risk"})
    return reasons


def _period_reasons(engagement: Engagement, facts: HealthFacts, today: date) -> list[dict]:
    if engagement.state not in RUNNING_STATES or engagement.period_start is None:
        return []
    reasons = []
    last = facts.last_update_at.date() if facts.last_update_at else engagement.period_start
    if today - last > STALE_AFTER:
        days = (today - last).days
        reasons.append({"level": Health.AMBER, "message": f"No provider update for {days} days"})
    end = engagement.period_end
    if end is not None and timedelta(0) <= end - today <= ENDING_SOON:
        which = "Trial" if engagement.state == "trial" else "Period"
        reasons.append(
            {
                "level": Health.AMBER,
                "message": f"{which} ends in {(end - today).days} days and no review has begun",
            }
        )
    return reasons


def gather_facts(engagement_ids: list[int], today: date) -> dict[int, HealthFacts]:
    """Facts for many engagements in three queries (no per-engagement queries)."""
    milestones: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
        select(Milestone.engagement_id, Milestone.title, Milestone.status, Milestone.period)
        .where(Milestone.engagement_id.in_(engagement_ids), Milestone.removed_at.is_(None))
        .order_by(Milestone.period, Milestone.due_date, Milestone.id)
    ):
        milestones[row.engagement_id].append((row.title, row.status, row.period))
    last_updates = dict(
        db.session.execute(
            select(Milestone.engagement_id, func.max(MilestoneUpdate.created_at))
            .join(MilestoneUpdate, MilestoneUpdate.milestone_id == Milestone.id)
            .where(Milestone.engagement_id.in_(engagement_ids))
            .group_by(Milestone.engagement_id)
        ).all()
    )
    overdue: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
        select(ChecklistItem.engagement_id, ChecklistItem.title).where(
            ChecklistItem.engagement_id.in_(engagement_ids),
            ChecklistItem.kind == "prerequisite",
            ChecklistItem.status == "open",
            ChecklistItem.due_date < today,
        )
    ):
        overdue[row.engagement_id].append(row.title)
    return {
        eid: HealthFacts(tuple(milestones[eid]), _aware(last_updates.get(eid)), tuple(overdue[eid]))
        for eid in engagement_ids
    }


def _aware(value):
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def refresh_health(engagement_ids: list[int], *, now: datetime | None = None) -> None:
    """Recompute and cache health for these engagements (no commit)."""
    now = now or utcnow()
    ids = list(engagement_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        facts = gather_facts(chunk, now.date())
        for engagement in db.session.scalars(select(Engagement).where(Engagement.id.in_(chunk))):
            health, reasons = compute_health(engagement, facts[engagement.id], now.date())
            if engagement.health != health or engagement.health_reasons != reasons:
                engagement.health, engagement.health_reasons = health, reasons
            engagement.health_computed_at = now


def refresh_due(now: datetime | None = None, *, batch: int = DAILY_BATCH) -> int:
    """The scheduler step: recompute health computed before today, or whose override ended.

    Readiness is re-cached for the same engagements, and for any never scored.
    At most `batch` engagements per call (a tick), so 10,000 engagements are caught
    up within a few ticks after midnight without one long transaction. Writes with a
    plain UPDATE: a derived value must not bump the row's version (that would make
    every editor's ETag stale overnight) nor its `updated_at`. Commits.
    """
    now = now or utcnow()
    midnight = datetime.combine(now.date(), time.min, tzinfo=UTC)
    ids = db.session.scalars(
        select(Engagement.id)
        .where(
            Engagement.closed_at.is_(None),
            or_(Engagement.health_computed_at.is_(None), Engagement.health_computed_at < midnight),
        )
        .limit(batch)
    ).all()
    expired = db.session.scalars(
        select(Engagement.id)
        .where(
            Engagement.health_override_until <= now,
            Engagement.effective_health != Engagement.health,
        )
        .limit(batch)
    ).all()
    unscored = db.session.scalars(
        select(Engagement.id).where(Engagement.readiness_score.is_(None)).limit(batch)
    ).all()  # rows from before the readiness cache (migration 0002)
    chosen = sorted(set(ids) | set(expired))
    if chosen:
        _store_health(chosen, now)
    if chosen or unscored:
        store_readiness(set(chosen) | set(unscored))
    db.session.commit()
    return len(chosen) + len(set(unscored) - set(chosen))


def _store_health(engagement_ids: list[int], now: datetime) -> None:
    statement = cached_values_update(
        health=bindparam("new_health"),
        health_reasons=bindparam("new_reasons"),
        effective_health=bindparam("new_effective"),
        health_computed_at=now,
    )
    facts = gather_facts(engagement_ids, now.date())
    rows = []
    # In id order, as store_readiness locks: two schedulers refreshing the same rows
    # take their row locks in the same order and cannot deadlock.
    for engagement in db.session.scalars(
        select(Engagement).where(Engagement.id.in_(engagement_ids)).order_by(Engagement.id)
    ):
        health, reasons = compute_health(engagement, facts[engagement.id], now.date())
        live = engagement.has_live_override(now)
        rows.append(
            {
                "row_id": engagement.id,
                "new_health": str(health),
                "new_reasons": reasons,
                "new_effective": engagement.health_override if live else str(health),
            }
        )
    db.session.execute(statement, rows, execution_options={"synchronize_session": False})


def refresh_all(*, now: datetime | None = None) -> int:
    """Recompute every live engagement (time alone changes health); commits."""
    ids = list(db.session.scalars(select(Engagement.id).where(Engagement.state != "closed")))
    refresh_health(ids, now=now)
    db.session.flush()
    store_readiness(ids)
    db.session.commit()
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
    if until is not None and until <= utcnow():
        errors["until"] = ["The expiry must be in the future."]
    if errors:
        raise ValidationFailed("The override could not be saved.", errors=errors)
    engagement.health_override = health
    engagement.health_override_note = note.strip() if health else None
    engagement.health_override_until = until if health else None
    engagement.health_override_by_id = actor.id if health else None
    audit.record(
        engagement,
        actor,
        "health_override",
        reason=note or None,
        data={"health": health, "until": until.isoformat() if until else None},
    )
    from tracker.services.engagements import commit_or_stale

    commit_or_stale()
    return engagement
