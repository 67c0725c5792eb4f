"""What a digest says: the engagements in a subscription's scope, gathered in a fixed
number of queries and filtered by what the recipient may see.

Every look-up is one query over the whole page of engagements (never one per
engagement), so a digest costs the same number of queries whether it shows
one engagement or fifty.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload

from tracker.auth.permissions import Action, can, visible_clause
from tracker.extensions import db
from tracker.models import (
    AccessEntry,
    Adr,
    AuditEvent,
    ChecklistItem,
    ChecklistStatus,
    Drill,
    Engagement,
    Measurement,
    Milestone,
    MilestoneUpdate,
    Role,
    Subscription,
    SuccessMetric,
    TeamMember,
    User,
    WorkflowTimer,
    engagement_follower,
    label,
    subscription_engagement,
)
from tracker.models.base import FINAL_MILESTONE_STATUSES
from tracker.services.evidence import reads as evidence_reads
from tracker.services.judgments.readiness import readiness_many
from tracker.services.workflow import lifecycle

DUE_WINDOW_DAYS = 14
# A digest is read on a phone: past this many engagements it links to the dashboard instead.
MAX_ENGAGEMENTS_SHOWN = 50
HEALTH_ORDER = ("red", "amber", "green")
# Without ANALYZE statistics SQLite reads checklist items through the (status, due_date)
# index, i.e. every open or done item of every engagement (~20 ms at 10,000 engagements),
# instead of the ≤ 50 engagements' own items.
# `status || ''` is the same value but no index can serve it, so the engagement index is used.
ITEM_STATUS = ChecklistItem.status.concat("")


@dataclass
class EngagementDigest:
    """One engagement's section of the digest."""

    id: int
    title: str
    provider: str
    state: str
    state_label: str
    period_text: str
    health: str
    reasons: list[str]
    cost_text: str | None = None
    internal_note: str | None = None
    changes: list[str] = field(default_factory=list)
    due: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    readiness: int | None = None
    readiness_detail: str | None = None
    needs_decision: str | None = None
    short_targets: list[str] = field(default_factory=list)  # this period's targets not met
    measured: list[str] = field(default_factory=list)  # measurements since the last digest
    period_end: date | None = None
    period_label: str | None = None
    # Handover (issue 30): the external members' access not yet revoked, where it matters.
    open_access: list[str] = field(default_factory=list)
    # Change requests (issue 31) still proposed, oldest first, with how long they wait.
    open_change_requests: list[str] = field(default_factory=list)
    engagement: Engagement | None = field(default=None, repr=False, compare=False)


@dataclass
class DigestContent:
    """Everything a digest template needs; no database access after it is built."""

    recipient: User
    since: datetime
    now: datetime
    today: date
    counts: dict[str, int]
    total: int
    engagements: list[EngagementDigest]

    @property
    def hidden(self) -> int:
        return self.total - len(self.engagements)

    @property
    def decisions(self) -> list[EngagementDigest]:
        return [e for e in self.engagements if e.needs_decision]


def scope_clause(subscription: Subscription, user: User, since: datetime):
    """The engagements this subscription covers that its user may see right now."""
    still_relevant = or_(Engagement.closed_at.is_(None), Engagement.closed_at >= since)
    clauses = [visible_clause(user), still_relevant]
    if subscription.scope == "provider":
        clauses.append(Engagement.provider_id == subscription.provider_id)
    elif subscription.scope == "chosen":
        chosen = select(subscription_engagement.c.engagement_id).where(
            subscription_engagement.c.subscription_id == subscription.id
        )
        clauses.append(Engagement.id.in_(chosen))
    return clauses


def gather(subscription: Subscription, user: User, since: datetime, now: datetime, today: date):
    """Build the DigestContent for this subscription as of `now`."""
    clauses = scope_clause(subscription, user, since)
    # The cached column (kept current by services/derived.py and the scheduler's health
    # step) and its covering indexes, not a CASE over the override per row.
    health = Engagement.effective_health
    counts = dict(
        db.session.execute(select(health, func.count()).where(*clauses).group_by(health)).all()
    )
    severity = case({"red": 0, "amber": 1}, value=health, else_=2)
    rows = db.session.scalars(
        select(Engagement)
        .options(joinedload(Engagement.provider), joinedload(Engagement.health_override_by))
        .where(*clauses)
        .order_by(severity, Engagement.title, Engagement.id)
        .limit(MAX_ENGAGEMENTS_SHOWN)
    ).all()
    sections = [_section(e, user, today, now) for e in rows]
    _fill_details({s.id: s for s in sections}, since, today)
    return DigestContent(
        recipient=user,
        since=since,
        now=now,
        today=today,
        counts={h: counts.get(h, 0) for h in HEALTH_ORDER},
        total=sum(counts.values()),
        engagements=sections,
    )


class ScopeCache:
    """Digest content gathered once per distinct scope during one run (ADR 0166).

    Recipients whose digest would list the same engagements with the same facts share
    one gather: every manager's "everything", a provider organisation's users, the same
    follow set, the same chosen engagements, with the same `since` and local date. Each
    recipient still gets their own DigestContent (and rendering); whether cost is shown
    is part of the key.
    """

    def __init__(self) -> None:
        self._content: dict[tuple, DigestContent] = {}
        self.gathered = 0

    def gather(self, subscription, user: User, since, now, today) -> DigestContent:
        key = (
            _visibility_key(user),
            _subscription_key(subscription),
            can(user, Action.VIEW_COST),
            since,
            now,
            today,
        )
        content = self._content.get(key)
        if content is None:
            content = gather(subscription, user, since, now, today)
            for section in content.engagements:
                section.engagement = None  # shared across transactions: plain data only
            self._content[key] = content
            self.gathered += 1
        return replace(content, recipient=user)


def _visibility_key(user: User) -> tuple:
    if user.is_client_side:
        return ("everything",)
    if user.role == Role.PROVIDER:
        return ("provider", user.provider_id)
    followed = db.session.scalars(
        select(engagement_follower.c.engagement_id).where(engagement_follower.c.user_id == user.id)
    )
    return ("follows", frozenset(followed))


def _subscription_key(subscription: Subscription) -> tuple:
    if subscription.scope == "provider":
        return ("provider", subscription.provider_id)
    if subscription.scope == "chosen":
        if subscription.id is None:
            return ("chosen", None)
        chosen = db.session.scalars(
            select(subscription_engagement.c.engagement_id).where(
                subscription_engagement.c.subscription_id == subscription.id
            )
        )
        return ("chosen", frozenset(chosen))
    return (subscription.scope,)


def _section(engagement: Engagement, user: User, today: date, now: datetime) -> EngagementDigest:
    period = lifecycle.current_period(engagement)
    section = EngagementDigest(
        id=engagement.id,
        title=engagement.title,
        provider=engagement.provider.name,
        state=engagement.state,
        state_label=lifecycle.state_label(engagement),
        period_text=period_text(engagement, today),
        health=engagement.health_at(now),
        reasons=[_reason_text(r) for r in engagement.health_reasons or []],
        period_end=period.end if period else None,
        period_label=period.label if period else None,
        engagement=engagement,
    )
    if engagement.health_override and section.health == engagement.health_override:
        section.reasons.insert(0, _override_text(engagement))
    if can(user, Action.VIEW_COST):
        section.cost_text = f"{engagement.currency} {engagement.monthly_cost:,.0f} a month"
        section.internal_note = engagement.internal_notes or None
    if lifecycle.phase_of(engagement) == "review":
        section.needs_decision = "In review: judge each milestone, then extend or wind down."
    return section


def _override_text(engagement: Engagement) -> str:
    """The override in words, beside what the data says (it never hides it)."""
    who = engagement.health_override_by.name if engagement.health_override_by else "a manager"
    until = engagement.health_override_until
    text = f"Set to {engagement.health_override} by {who}"
    at = engagement.health_override_at
    text += f" on {at:%-d %b}" if at else ""
    text += f" until {until:%-d %b}" if until else ""
    text += f": {engagement.health_override_note}" if engagement.health_override_note else ""
    return f"{text}; the data says {engagement.health.capitalize()}"


def _reason_text(reason) -> str:
    if isinstance(reason, dict):
        return str(reason.get("message") or reason.get("text") or reason.get("code") or "")
    return str(reason)


def period_text(engagement: Engagement, today: date) -> str:
    """ "Day 40 of 90 of the trial", or the state's label when it has no dated period;
    on hold, the hold ("On hold since 3 Dec (from Trial): Budget freeze")."""
    held = lifecycle.hold_text(engagement)
    if held:
        return held
    progress = lifecycle.period_progress(engagement, today)
    if progress:
        name, day, total = progress
        return f"Day {day} of {total} of the {name.lower()}"
    phase = lifecycle.phase_of(engagement)
    if phase == "setup" and engagement.discovery_start:
        day = (today - engagement.discovery_start).days + 1
        return f"Day {day} of {lifecycle.state_label(engagement).lower()}"
    if phase == "final" and engagement.outcome:
        return f"{lifecycle.state_label(engagement)} ({label(engagement.outcome)})"
    return lifecycle.state_label(engagement)


def _fill_details(sections: dict[int, EngagementDigest], since: datetime, today: date) -> None:
    """Changes, due and overdue work, decisions and readiness: one query each."""
    if not sections:
        return
    ids = list(sections)
    for engagement_id, text in _changes(sections, since):
        sections[engagement_id].changes.append(text)
    _fill_due(sections, ids, today)
    _fill_decisions(sections, ids, today)
    _fill_evidence(sections, ids, since)
    _fill_open_access(sections, ids, today)
    _fill_change_requests(sections, ids, today)
    for engagement_id, (score, detail) in _readiness(ids).items():
        sections[engagement_id].readiness = score
        sections[engagement_id].readiness_detail = detail


def _fill_evidence(sections: dict[int, EngagementDigest], ids: list[int], since: datetime) -> None:
    """Targets of the current period short of their goal, and what was measured since the
    last digest (four queries). Cost metrics are named without figures, as in health."""
    open_milestones = db.session.execute(
        select(Milestone.id, Milestone.engagement_id, Milestone.title, Milestone.due_date)
        .join(Engagement, Engagement.id == Milestone.engagement_id)
        .where(Milestone.engagement_id.in_(ids), Milestone.removed_at.is_(None))
        .where(Milestone.period == Engagement.current_period)
        .where(Milestone.status.not_in(FINAL_MILESTONE_STATUSES))
        .order_by(Milestone.due_date, Milestone.id)
    ).all()
    judged = evidence_reads.target_statuses(m.id for m in open_milestones)
    for m in open_milestones:
        for t in judged.get(m.id, ()):
            if t.status != "met":
                what = f"'{t.name}' short of its target" if t.kind == "cost" else t.sentence
                sections[m.engagement_id].short_targets.append(
                    f"{what} ({m.title}, due {m.due_date:%-d %b})"
                )
    for engagement_id, name, count in db.session.execute(
        select(Measurement.engagement_id, SuccessMetric.name, func.count())
        .join(SuccessMetric, SuccessMetric.id == Measurement.metric_id)
        .where(Measurement.engagement_id.in_(ids), Measurement.created_at >= since)
        .group_by(Measurement.engagement_id, SuccessMetric.name)
        .order_by(SuccessMetric.name)
    ):
        plural = "s" if count != 1 else ""
        sections[engagement_id].measured.append(f"{count} measurement{plural} of '{name}'")


def _changes(sections: dict[int, EngagementDigest], since: datetime) -> list[tuple[int, str]]:
    """What happened since the previous digest, oldest first, as (engagement id, sentence)."""
    ids = list(sections)
    found: list[tuple[datetime, int, str]] = []
    transitions = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.engagement_id.in_(ids),
            AuditEvent.kind == "transition",
            AuditEvent.created_at >= since,
        )
    )
    for event in transitions:
        engagement = sections[event.engagement_id].engagement
        names = (
            lifecycle.label_of_state(engagement, n) for n in (event.from_state, event.to_state)
        )
        moved = " → ".join(names)
        text = f"{moved} ({event.actor_label})"
        found.append((event.created_at, event.engagement_id, text))
    updates = db.session.execute(
        select(MilestoneUpdate, Milestone.engagement_id, Milestone.title)
        .join(Milestone, MilestoneUpdate.milestone_id == Milestone.id)
        .where(Milestone.engagement_id.in_(ids), MilestoneUpdate.created_at >= since)
    )
    for update, engagement_id, title in updates:
        if update.from_status != update.status:
            text = f"{title}: {label(update.from_status or 'planned')} → {label(update.status)}"
            found.append((update.created_at, engagement_id, text))
    found.extend(_completed_items(ids, since))
    found.extend(_drills_recorded(ids, since))
    adrs = db.session.execute(
        select(Adr.created_at, Adr.engagement_id, Adr.number, Adr.title).where(
            Adr.engagement_id.in_(ids), Adr.created_at >= since
        )
    )
    for created_at, engagement_id, number, title in adrs:
        found.append((created_at, engagement_id, f"New ADR {number:04d}: {title}"))
    found.sort(key=lambda row: row[0])
    return [(engagement_id, text) for _, engagement_id, text in found]


def _completed_items(ids: list[int], since: datetime) -> list[tuple[datetime, int, str]]:
    rows = db.session.execute(
        select(ChecklistItem.completed_at, ChecklistItem.engagement_id, ChecklistItem.title).where(
            ChecklistItem.engagement_id.in_(ids),
            ITEM_STATUS.in_([ChecklistStatus.DONE, ChecklistStatus.NOT_APPLICABLE]),
            ChecklistItem.completed_at >= since,
        )
    )
    return [(at, engagement_id, f"Checklist done: {title}") for at, engagement_id, title in rows]


def _drills_recorded(ids: list[int], since: datetime) -> list[tuple[datetime, int, str]]:
    """Walk-away drills recorded since the last digest, in words."""
    rows = db.session.execute(
        select(Drill.created_at, Drill.engagement_id, Drill.outcome, Drill.area, Drill.task)
        .add_columns(User.name)
        .join(User, User.id == Drill.performed_by_id)
        .where(Drill.engagement_id.in_(ids), Drill.created_at >= since)
    )
    return [
        (at, engagement_id, f"Drill {label(outcome).lower()}: {task} ({area}), alone by {who}")
        for at, engagement_id, outcome, area, task, who in rows
    ]


def _fill_open_access(sections: dict[int, EngagementDigest], ids: list[int], today: date) -> None:
    """External members' access still open: during the wind-down, or once a member's end
    date is within the due window or past (one query)."""
    horizon = today + timedelta(days=DUE_WINDOW_DAYS)
    rows = db.session.execute(
        select(AccessEntry.engagement_id, TeamMember.name, TeamMember.end_date, AccessEntry.system)
        .join(TeamMember, TeamMember.id == AccessEntry.member_id)
        .where(
            AccessEntry.engagement_id.in_(ids),
            AccessEntry.revoked_at.is_(None),
            TeamMember.is_external.is_(True),
        )
        .order_by(TeamMember.name, AccessEntry.id)
    )
    for engagement_id, name, end, system in rows:
        section = sections[engagement_id]
        winding_down = lifecycle.state_of(section.engagement).phase == "wind_down"
        if not winding_down and (end is None or end > horizon):
            continue
        when = f", last day {end:%-d %b}" if end else ""
        section.open_access.append(f"{name}: {system}{when}")


def _fill_change_requests(sections: dict[int, EngagementDigest], ids: list[int], today) -> None:
    """Proposed change requests waiting for a decision, oldest first (one query)."""
    from tracker.models import ChangeRequest, User

    rows = db.session.execute(
        select(ChangeRequest.engagement_id, ChangeRequest.id, ChangeRequest.why)
        .add_columns(ChangeRequest.created_at, User.name)
        .join(User, User.id == ChangeRequest.raised_by_id)
        .where(ChangeRequest.engagement_id.in_(ids), ChangeRequest.state == "proposed")
        .order_by(ChangeRequest.created_at, ChangeRequest.id)
    )
    for engagement_id, request_id, why, created, name in rows:
        days = (today - created.date()).days
        waiting = "raised today" if days <= 0 else f"waiting {days} day{'s' if days != 1 else ''}"
        short = why if len(why) <= 80 else why[:79] + "…"
        text = f"#{request_id} {short} (by {name}, {waiting})"
        sections[engagement_id].open_change_requests.append(text)


def _fill_due(sections: dict[int, EngagementDigest], ids: list[int], today: date) -> None:
    horizon = today + timedelta(days=DUE_WINDOW_DAYS)
    milestones = db.session.scalars(
        select(Milestone)
        .where(
            Milestone.engagement_id.in_(ids),
            Milestone.status.not_in(list(FINAL_MILESTONE_STATUSES)),
            Milestone.removed_at.is_(None),
            Milestone.due_date <= horizon,
        )
        .order_by(Milestone.due_date)
    )
    milestones = list(milestones)
    # the words every page uses, with the dated claim, weighed against the judged targets
    # (the line shows the badge only: cost figures stay out, as in health)
    statuses = evidence_reads.displayed_many(milestones, None, today)
    for m in milestones:
        shown = statuses[m.id]
        said = f" ({shown.claim})" if shown.claim else ""
        _place(
            sections[m.engagement_id],
            f"Milestone {m.title}: {shown.label}{said}",
            m.due_date,
            today,
        )
    items = db.session.execute(
        select(ChecklistItem.engagement_id, ChecklistItem.title, ChecklistItem.due_date)
        .where(
            ChecklistItem.engagement_id.in_(ids),
            ITEM_STATUS == ChecklistStatus.OPEN,
            ChecklistItem.due_date <= horizon,
        )
        .order_by(ChecklistItem.due_date)
    )
    for engagement_id, title, due in items:
        _place(sections[engagement_id], f"Checklist: {title}", due, today)


def _place(section: EngagementDigest, text: str, due: date, today: date) -> None:
    if due < today:
        days = (today - due).days
        section.overdue.append(f"{text}, due {due:%-d %b} ({days} day{'s' * (days != 1)} late)")
    else:
        section.due.append(f"{text}, due {due:%-d %b}")


def _fill_decisions(sections: dict[int, EngagementDigest], ids: list[int], today: date) -> None:
    """A running period ending within the window with no workflow timer pending."""
    horizon = today + timedelta(days=DUE_WINDOW_DAYS)
    ending = [s for s in sections.values() if s.period_end is not None and s.period_end <= horizon]
    if not ending:
        return
    scheduled = set(
        db.session.scalars(
            select(WorkflowTimer.engagement_id).where(
                WorkflowTimer.engagement_id.in_([s.id for s in ending]),
                WorkflowTimer.status == "pending",
            )
        )
    )
    for section in ending:
        if section.id not in scheduled:
            section.needs_decision = (
                f"The {section.period_label} ends {section.period_end:%-d %b} "
                "and no review is scheduled."
            )


def _readiness(ids: list[int]) -> dict[int, tuple[int, str]]:
    """Knowledge-retention readiness (0–100) with its breakdown in words."""
    return {i: (r.score, r.summary) for i, r in readiness_many(ids).items()}
