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
So nothing overdue is ever Green. Health is cached on the engagement row so lists
never recompute it: services refresh it when they change its inputs, and the
scheduler's `health` step (`refresh_due`) recomputes what time alone changes:
every live engagement once a day (UTC), and overrides that have expired.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import bindparam, inspect, or_, select
from sqlalchemy.orm.util import identity_key

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import (
    AccessEntry,
    ChecklistItem,
    Engagement,
    Health,
    Milestone,
    TeamMember,
    User,
    label,
)
from tracker.models.base import FINAL_MILESTONE_STATUSES
from tracker.models.engagement import cached_values_update
from tracker.services.change_requests.drift import ApprovedFact, approved_facts, drift_of
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.evidence import reads as evidence_reads
from tracker.services.evidence.judgment import TargetStatus
from tracker.services.judgments.health_history import change_row, record_changes
from tracker.services.judgments.readiness import store_readiness
from tracker.services.workflow import lifecycle
from workflows import State
from workflows.meaning import HealthRules

_RANK = {Health.GREEN: 0, Health.AMBER: 1, Health.RED: 2}
DAILY_BATCH = 2000
AWAITING_VERDICT = "done"  # the provider says it is done; the manager has not judged it


@dataclass(frozen=True)
class MilestoneFact:
    """What health reads of one milestone."""

    id: int
    title: str
    status: str
    period: int
    due_date: date
    last_update_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ChecklistDueFact:
    """An open checklist item that has a due date."""

    id: int
    title: str
    kind: str
    due_date: date


@dataclass(frozen=True)
class OpenAccessFact:
    """A team member with an end date and the systems they can still reach."""

    member_id: int
    name: str
    end_date: date
    systems: tuple[str, ...]


@dataclass(frozen=True)
class HealthFacts:
    """What health needs to know about one engagement beyond its own row."""

    milestones: tuple[MilestoneFact, ...] = ()
    open_items: tuple[ChecklistDueFact, ...] = ()
    # milestone id -> its targets judged (services/evidence/judgment.py)
    targets: Mapping[int, tuple[TargetStatus, ...]] = field(default_factory=dict)
    open_access: tuple[OpenAccessFact, ...] = ()
    # Approved change requests (issue 31), for the drift rule.
    approved: tuple[ApprovedFact, ...] = ()


def _reason(code: str, level: str, message: str, anchor: str | None = None) -> dict:
    reason = {"code": code, "level": str(level), "message": message}
    if anchor:
        reason["anchor"] = anchor  # the id of the item on the engagement page
    return reason


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
        return _on_hold(engagement, facts)
    reasons = _milestone_reasons(engagement, state, facts, today, rules)
    reasons += _checklist_reasons(facts, today, rules)
    reasons += _period_reasons(engagement, state, facts, today, rules)
    reasons += _target_reasons(engagement, state, facts, today, rules)
    reasons += _access_reasons(facts, today, rules)
    reasons += _drift_reasons(engagement, facts, rules)
    worst = max((r["level"] for r in reasons), key=_RANK.__getitem__, default=Health.GREEN)
    return Health(worst), reasons


def _on_hold(engagement, facts: HealthFacts) -> tuple[str, list]:
    """On hold the clock stops: nothing turns overdue, stale or late, so only what the
    people said (a blocked, at-risk or missed milestone) counts beside the hold itself."""
    since = getattr(engagement, "paused_at", None)
    text = "On hold" + (f" since {since:%-d %b}" if since else "")
    reason = getattr(engagement, "pause_reason", "")
    text += f", reason: {reason}" if reason else ""
    expected = getattr(engagement, "expected_resume", None)
    text += f"; expected to resume {expected:%-d %b}" if expected else ""
    reasons = [_reason("paused", Health.AMBER, text)]
    for m in facts.milestones:
        anchor = f"milestone-{m.id}"
        if m.status == "blocked":
            text = f"Milestone '{m.title}' is blocked"
            reasons.append(_reason("milestone_blocked", Health.RED, text, anchor))
        elif m.status == "at_risk":
            text = f"Milestone '{m.title}' is at risk"
            reasons.append(_reason("milestone_at_risk", Health.AMBER, text, anchor))
        elif m.status == "missed" and m.period == engagement.current_period:
            text = f"Milestone '{m.title}' was missed"
            reasons.append(_reason("milestone_missed", Health.RED, text, anchor))
    worst = max((r["level"] for r in reasons), key=_RANK.__getitem__)
    return Health(worst), reasons


def _period_bounds(engagement, state: State) -> tuple[date | None, date | None]:
    if not state.is_period:
        return None, None
    return tuple(getattr(engagement, key, None) for key in state.period)


def _milestone_reasons(engagement, state, facts, today, rules) -> list[dict]:
    reasons = []
    start, end = _period_bounds(engagement, state)
    for m in facts.milestones:
        anchor = f"milestone-{m.id}"
        if m.status in FINAL_MILESTONE_STATUSES:
            if m.status == "missed" and m.period == engagement.current_period:
                text = f"Milestone '{m.title}' was missed"
                reasons.append(_reason("milestone_missed", Health.RED, text, anchor))
            continue
        if m.status == "blocked":
            text = f"Milestone '{m.title}' is blocked"
            reasons.append(_reason("milestone_blocked", Health.RED, text, anchor))
        elif m.status == "at_risk":
            text = f"Milestone '{m.title}' is at risk"
            reasons.append(_reason("milestone_at_risk", Health.AMBER, text, anchor))
        if m.due_date < today:
            reasons.append(_overdue_reason(engagement, state, m, today, rules, end))
        elif state.is_period and start and m.status != AWAITING_VERDICT:
            reasons += _stale_reason(m, _quiet_since(engagement, start), today, rules)
    return reasons


def _overdue_reason(engagement, state, m: MilestoneFact, today, rules, end) -> dict:
    late = (today - m.due_date).days
    period_over = m.period < engagement.current_period or not state.is_period
    period_over = period_over or (end is not None and end < today)
    red = late > rules.overdue_red_after.days or period_over
    waiting = "is done and awaits a verdict" if m.status == AWAITING_VERDICT else "has no verdict"
    text = f"Milestone '{m.title}' was due {m.due_date:%-d %b} ({_days(late)} ago) and {waiting}"
    return _reason(
        "milestone_overdue", Health.RED if red else Health.AMBER, text, f"milestone-{m.id}"
    )


def _quiet_since(engagement, start: date) -> date:
    """Staleness counts from the period start, or from the end of the last hold (the
    days on hold do not count)."""
    resumed = getattr(engagement, "resumed_at", None)
    return max(start, resumed.date()) if resumed is not None else start


def _stale_reason(m: MilestoneFact, start: date, today: date, rules) -> list[dict]:
    seen = [start] + [d.date() for d in (m.last_update_at, m.created_at) if d is not None]
    quiet = today - max(seen)
    if quiet <= rules.stale_after:
        return []
    text = f"No provider update on '{m.title}' for {_days(quiet.days)}"
    return [_reason("milestone_stale", Health.AMBER, text, f"milestone-{m.id}")]


def _checklist_reasons(facts: HealthFacts, today: date, rules) -> list[dict]:
    reasons = []
    for item in facts.open_items:
        if item.due_date >= today:
            continue
        late = (today - item.due_date).days
        level = Health.RED if late > rules.checklist_red_after.days else Health.AMBER
        text = (
            f"{label(item.kind).capitalize()} item '{item.title}' was due "
            f"{item.due_date:%-d %b} ({_days(late)} ago)"
        )
        reasons.append(_reason("checklist_overdue", level, text, f"checklist-{item.id}"))
    return reasons


def _period_reasons(engagement, state, facts, today, rules) -> list[dict]:
    start, end = _period_bounds(engagement, state)
    if start is None or end is None:
        return []
    if end < today:
        text = f"{state.label} ended on {end:%-d %b} and no review has begun"
        return [_reason("period_over", Health.AMBER, text)]
    current = [m for m in facts.milestones if m.period == engagement.current_period]
    if not current:
        text = f"{state.label} has no milestones to judge it by"
        return [_reason("period_without_milestones", Health.AMBER, text)]
    pending = [m for m in current if m.status not in FINAL_MILESTONE_STATUSES]
    if pending and end - today <= rules.period_ending_within:
        count = f"{len(pending)} milestone{'s' if len(pending) != 1 else ''}"
        text = f"{state.label} ends in {_days((end - today).days)} with {count} without a verdict"
        return [_reason("period_ending", Health.AMBER, text)]
    return []


def _target_reasons(engagement, state, facts: HealthFacts, today: date, rules) -> list[dict]:
    """Evidence: a target short near or past its due date, and metrics measured too long ago.

    Only open milestones of the current period count; a verdict settles a milestone."""
    reasons, stale_seen = [], set()
    start, _ = _period_bounds(engagement, state)
    for m in facts.milestones:
        if m.status in FINAL_MILESTONE_STATUSES or m.period != engagement.current_period:
            continue
        for t in facts.targets.get(m.id, ()):
            anchor = f"metric-{t.metric_id}"
            if t.status != "met" and m.due_date < today:
                text = f"Milestone '{m.title}' was due {m.due_date:%-d %b}: {_short(t)}, no verdict"
                reasons.append(_reason("target_missed", Health.RED, text, anchor))
            elif t.status != "met" and m.due_date - today <= rules.target_warning_within:
                days = _days((m.due_date - today).days)
                text = f"{_short(t)} with {days} to '{m.title}'"
                reasons.append(_reason("target_at_risk", Health.AMBER, text, anchor))
            if m.due_date >= today and t.metric_id not in stale_seen:
                stale_seen.add(t.metric_id)
                reasons += _measurement_stale(t, start, today, rules)
    return reasons


def _short(t: TargetStatus) -> str:
    """'p95 latency' at 2,300 ms against ≤ 2,000 ms; no figures for cost metrics (hidden
    from providers, and health reasons are shown to everyone who sees the engagement)."""
    if t.kind == "cost":
        return f"'{t.name}' is short of its target"
    if t.latest is None:
        return f"'{t.name}' has no measurement against its target"
    return f"'{t.name}' is not met: {t.sentence.split(': ', 1)[1]}"


def _measurement_stale(t: TargetStatus, start, today: date, rules) -> list[dict]:
    last = t.latest_at.date() if t.latest_at else start
    if last is None or today - last <= rules.measurement_stale_after:
        return []
    since = f"since {last:%-d %b}" if t.latest_at else "at all this period"
    text = f"No measurement of '{t.name}' {since}"
    return [_reason("measurement_stale", Health.AMBER, text, f"metric-{t.metric_id}")]


def _access_reasons(facts: HealthFacts, today: date, rules) -> list[dict]:
    """A member whose end date has passed can still reach systems: amber, naming them."""
    reasons = []
    for fact in facts.open_access:
        if fact.end_date >= today or today - fact.end_date < rules.open_access_amber_after:
            continue
        systems = ", ".join(fact.systems)
        text = f"{fact.name} left on {fact.end_date:%-d %b} and can still reach {systems}"
        anchor = f"member-{fact.member_id}"
        reasons.append(_reason("access_open_after_end", Health.AMBER, text, anchor))
    return reasons


def _drift_reasons(engagement, facts: HealthFacts, rules) -> list[dict]:
    """drift: approved change requests since the trial began past the definition's
    `drift_slip_after` or `drift_cost_percent`: amber, naming the requests."""
    if not facts.approved:
        return []
    drift = drift_of(engagement, facts.approved)
    past = drift.over(rules.drift_slip_after.days, rules.drift_cost_percent)
    if not past:
        return []
    named = ", ".join(f"#{r.id} ({r.why[:60]})" for r in drift.requests)
    text = f"Drift through approved change requests: {' and '.join(past)}; requests {named}"
    return [_reason("drift", Health.AMBER, text, "change-requests")]


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def gather_facts(engagement_ids: list[int], today: date) -> dict[int, HealthFacts]:
    """Facts for many engagements in three queries (no per-engagement queries)."""
    milestones: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
        select(Milestone.engagement_id, Milestone.id, Milestone.title, Milestone.status)
        .add_columns(Milestone.period, Milestone.due_date, Milestone.last_update_at)
        .add_columns(Milestone.created_at)
        .where(Milestone.engagement_id.in_(engagement_ids), Milestone.removed_at.is_(None))
        .order_by(Milestone.period, Milestone.due_date, Milestone.id)
    ):
        fact = MilestoneFact(*row[1:6], _aware(row[6]), _aware(row[7]))
        milestones[row.engagement_id].append(fact)
    items: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
        select(ChecklistItem.engagement_id, ChecklistItem.id, ChecklistItem.title)
        .add_columns(ChecklistItem.kind, ChecklistItem.due_date)
        .where(
            ChecklistItem.engagement_id.in_(engagement_ids),
            ChecklistItem.status == "open",
            ChecklistItem.due_date.is_not(None),
        )
        .order_by(ChecklistItem.due_date, ChecklistItem.id)
    ):
        items[row.engagement_id].append(ChecklistDueFact(*row[1:]))
    judged = evidence_reads.target_statuses(m.id for ms in milestones.values() for m in ms)
    access = _open_access(engagement_ids)
    approved = approved_facts(engagement_ids)
    return {
        eid: HealthFacts(
            tuple(milestones[eid]),
            tuple(items[eid]),
            targets={m.id: tuple(judged[m.id]) for m in milestones[eid] if m.id in judged},
            open_access=tuple(access[eid]),
            approved=tuple(approved.get(eid, ())),
        )
        for eid in engagement_ids
    }


def _open_access(engagement_ids: list[int]) -> dict[int, list[OpenAccessFact]]:
    """Members with an end date and access not yet revoked, one query for all."""
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for row in db.session.execute(
        select(TeamMember.engagement_id, TeamMember.id, TeamMember.name, TeamMember.end_date)
        .add_columns(AccessEntry.system)
        .join(AccessEntry, AccessEntry.member_id == TeamMember.id)
        .where(
            TeamMember.engagement_id.in_(engagement_ids),
            TeamMember.end_date.is_not(None),
            AccessEntry.revoked_at.is_(None),
        )
        .order_by(TeamMember.id, AccessEntry.id)
    ):
        grouped[tuple(row[:4])].append(row[4])
    access: dict[int, list[OpenAccessFact]] = defaultdict(list)
    for (eid, member_id, name, end), systems in grouped.items():
        access[eid].append(OpenAccessFact(member_id, name, end, tuple(systems)))
    return access


def _aware(value):
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def refresh_health(engagement_ids: list[int], *, now: datetime | None = None) -> None:
    """Recompute and cache health for these engagements (no commit)."""
    now = now or clock.now()
    ids = list(engagement_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        facts = gather_facts(chunk, now.date())
        for engagement in _engagements(chunk):
            health, reasons = compute_health(engagement, facts[engagement.id], now.date())
            if engagement.health != health or engagement.health_reasons != reasons:
                engagement.health, engagement.health_reasons = health, reasons
            engagement.health_computed_at = now


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
        health_computed_at=now,
    )
    facts = gather_facts(engagement_ids, now.date())
    rows, changes = [], []
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
            }
        )
        if effective != engagement.effective_health:
            changes.append(change_row(engagement.id, effective, health, now))
    db.session.execute(statement, rows, execution_options={"synchronize_session": False})
    record_changes(db.session, changes)  # one executemany, like the UPDATE above


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
