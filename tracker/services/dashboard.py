"""Read-side queries for the dashboard and engagement lists: a constant number of queries.

The page of engagements is one query; counts, next milestones and overdue
items are each one GROUP BY (or IN) query over the engagements on the page,
never one query per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import contains_eager

from tracker.auth.permissions import visible_clause
from tracker.db_setup import utcnow
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import (
    FINAL_MILESTONE_STATUSES,
    ChecklistItem,
    ChecklistStatus,
    Engagement,
    Health,
    Milestone,
    ProviderOrganisation,
    Role,
    User,
)
from tracker.services.readiness import Readiness, readiness_many

LIFECYCLE_ORDER = (
    "discovery",
    "trial",
    "milestone_review",
    "extension",
    "knowledge_transfer",
    "closed",
)
HEALTH_ORDER = (Health.RED, Health.AMBER, Health.GREEN)
SORTS = ("title", "state", "health", "provider", "owner", "period_end", "updated")
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class DashboardQuery:
    """Filters, sort and page, as they appear in the URL."""

    state: str | None = None
    health: str | None = None
    provider_id: int | None = None
    owner_id: int | None = None
    sort: str = "health"
    descending: bool = False
    page: int = 1
    per_page: int = 50


@dataclass
class DashboardRow:
    """One engagement with what the dashboard shows next to it."""

    engagement: Engagement
    health: str
    next_milestone: Milestone | None = None
    overdue_milestones: int = 0
    overdue_checklist: int = 0
    readiness: Readiness | None = None

    @property
    def overdue(self) -> int:
        return self.overdue_milestones + self.overdue_checklist


@dataclass
class Dashboard:
    """Everything the dashboard page renders."""

    query: DashboardQuery
    rows: list[DashboardRow]
    total: int
    by_state: dict[str, int] = field(default_factory=dict)
    by_health: dict[str, int] = field(default_factory=dict)
    providers: list[ProviderOrganisation] = field(default_factory=list)
    owners: list[User] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


def _int_arg(args, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationFailed(
            f"'{name}' must be a whole number from {low} to {high}.",
            errors={name: [f"Must be a whole number from {low} to {high}."]},
        )
    return int(raw)


def _choice_arg(args, name: str, choices) -> str | None:
    raw = (args.get(name) or "").strip()
    if raw and raw not in choices:
        raise ValidationFailed(
            f"'{name}' must be one of: {', '.join(choices)}.",
            errors={name: [f"Choose one of: {', '.join(choices)}."]},
        )
    return raw or None


def parse_query(args) -> DashboardQuery:
    """Read filters from request args; a bad value raises ValidationFailed naming the field."""
    sort = (args.get("sort") or "health").strip()
    descending = sort.startswith("-")
    _choice_arg({"sort": sort.lstrip("-")}, "sort", SORTS)
    return DashboardQuery(
        state=_choice_arg(args, "state", LIFECYCLE_ORDER),
        health=_choice_arg(args, "health", [h.value for h in HEALTH_ORDER]),
        provider_id=_int_arg(args, "provider", None, 1, 2**31),
        owner_id=_int_arg(args, "owner", None, 1, 2**31),
        sort=sort.lstrip("-"),
        descending=descending,
        page=_int_arg(args, "page", 1, 1, 100000),
        per_page=_int_arg(args, "per_page", 50, 1, MAX_PER_PAGE),
    )


def effective_health_expr(now: datetime):
    """SQL for Engagement.effective_health(): a live manager override wins."""
    live_override = and_(
        Engagement.health_override.is_not(None),
        or_(Engagement.health_override_until.is_(None), Engagement.health_override_until > now),
    )
    return case((live_override, Engagement.health_override), else_=Engagement.health)


def _rank(expr, order) -> object:
    return case({value: index for index, value in enumerate(order)}, value=expr, else_=99)


def _order_by(query: DashboardQuery, health):
    keys = {
        "title": func.lower(Engagement.title),
        "state": _rank(Engagement.state, LIFECYCLE_ORDER),
        "health": _rank(health, [h.value for h in HEALTH_ORDER]),
        "provider": func.lower(ProviderOrganisation.name),
        "owner": func.lower(User.name),
        "period_end": func.coalesce(Engagement.period_end, Engagement.trial_end),
        "updated": Engagement.updated_at,
    }
    key = keys[query.sort]
    primary = key.desc() if query.descending else key.asc()
    return [primary, Engagement.id.asc()]


def _base_filters(actor: User, query: DashboardQuery, health) -> list:
    clauses = [visible_clause(actor)]
    if query.state:
        clauses.append(Engagement.state == query.state)
    else:
        clauses.append(Engagement.closed_at.is_(None))  # "live" unless closed is asked for
    if query.health:
        clauses.append(health == query.health)
    if query.provider_id:
        clauses.append(Engagement.provider_id == query.provider_id)
    if query.owner_id:
        clauses.append(Engagement.owner_id == query.owner_id)
    return clauses


def build_dashboard(actor: User, query: DashboardQuery, *, today: date | None = None) -> Dashboard:
    """The filtered, sorted page of visible engagements, with counts and per-row facts."""
    now = utcnow()
    today = today or now.date()
    health = effective_health_expr(now)
    clauses = _base_filters(actor, query, health)
    rows = _page_rows(query, clauses, health)
    total = db.session.scalar(select(func.count(Engagement.id)).where(*clauses)) or 0
    _attach_row_facts(rows, today)
    board = Dashboard(query=query, rows=rows, total=total)
    board.by_state, board.by_health = _counts(actor, health)
    board.providers, board.owners = _filter_choices(actor)
    return board


def _page_rows(query: DashboardQuery, clauses: list, health) -> list[DashboardRow]:
    """The page's ids from the narrow engagement rows, then those rows with their joins.

    Sorting every live row with the provider and owner joined in cost ~3x more at
    10,000 engagements; the joins are only needed to sort by provider or owner.
    """
    ids_query = select(Engagement.id).where(*clauses)
    if query.sort == "provider":
        ids_query = ids_query.join(
            ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id
        )
    if query.sort == "owner":
        ids_query = ids_query.join(User, User.id == Engagement.owner_id)
    ids = db.session.scalars(
        ids_query.order_by(*_order_by(query, health))
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    ).all()
    if not ids:
        return []
    loaded = db.session.execute(
        select(Engagement, health)
        .join(ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id)
        .join(User, User.id == Engagement.owner_id)
        .options(contains_eager(Engagement.provider), contains_eager(Engagement.owner))
        .where(Engagement.id.in_(ids))
    )
    by_id = {engagement.id: DashboardRow(engagement, value) for engagement, value in loaded}
    return [by_id[engagement_id] for engagement_id in ids]


def _counts(actor: User, health) -> tuple[dict[str, int], dict[str, int]]:
    """Live engagements by state and by health (the filters' badges), two GROUP BYs."""
    visible = visible_clause(actor)
    by_state = dict(
        db.session.execute(
            select(Engagement.state, func.count()).where(visible).group_by(Engagement.state)
        ).all()
    )
    by_health = dict(
        db.session.execute(
            select(health, func.count())
            .where(visible, Engagement.closed_at.is_(None))
            .group_by(health)
        ).all()
    )
    ordered_states = {s: by_state.get(s, 0) for s in LIFECYCLE_ORDER}
    ordered_states.update({s: n for s, n in by_state.items() if s not in ordered_states})
    return ordered_states, {h.value: by_health.get(h.value, 0) for h in HEALTH_ORDER}


def _filter_choices(actor: User) -> tuple[list[ProviderOrganisation], list[User]]:
    """Providers and owners that appear on the engagements this user can see."""
    # Straight from the visible engagements: the (provider_id, state) and (owner_id, state)
    # indexes cover these, where an extra `id IN (visible ids)` level scanned the table.
    visible = visible_clause(actor)
    providers = db.session.scalars(
        select(ProviderOrganisation)
        .where(ProviderOrganisation.id.in_(select(Engagement.provider_id).where(visible)))
        .order_by(ProviderOrganisation.name)
    ).all()
    owners = db.session.scalars(
        select(User)
        .where(User.id.in_(select(Engagement.owner_id).where(visible)))
        .order_by(User.name)
    ).all()
    return list(providers), list(owners)


def _attach_row_facts(rows: list[DashboardRow], today: date) -> None:
    """Next open milestone and overdue counts for the rows: three queries in total."""
    by_id = {row.engagement.id: row for row in rows}
    if not by_id:
        return
    ids = list(by_id)
    open_status = Milestone.status.not_in([s.value for s in FINAL_MILESTONE_STATUSES])
    upcoming = db.session.scalars(
        select(Milestone)
        .where(Milestone.engagement_id.in_(ids), open_status)
        .order_by(Milestone.engagement_id, Milestone.due_date, Milestone.id)
    )
    for milestone in upcoming:
        row = by_id[milestone.engagement_id]
        row.next_milestone = row.next_milestone or milestone
    late_milestones = (
        select(Milestone.engagement_id, func.count())
        .where(Milestone.engagement_id.in_(ids), open_status, Milestone.due_date < today)
        .group_by(Milestone.engagement_id)
    )
    for engagement_id, count in db.session.execute(late_milestones):
        by_id[engagement_id].overdue_milestones = count
    late_items = (
        select(ChecklistItem.engagement_id, func.count())
        .where(
            ChecklistItem.engagement_id.in_(ids),
            ChecklistItem.status == ChecklistStatus.OPEN,
            ChecklistItem.due_date < today,
        )
        .group_by(ChecklistItem.engagement_id)
    )
    for engagement_id, count in db.session.execute(late_items):
        by_id[engagement_id].overdue_checklist = count
    for engagement_id, ready in readiness_many(ids).items():
        by_id[engagement_id].readiness = ready


def period_progress(engagement: Engagement, today: date) -> tuple[str, int, int] | None:
    """("Trial"|"Extension", day X, of N days) while a trial or extension is running."""
    if engagement.state == "trial" and engagement.trial_start and engagement.trial_end:
        start, end, name = engagement.trial_start, engagement.trial_end, "Trial"
    elif engagement.state == "extension" and engagement.period_start and engagement.period_end:
        start, end, name = engagement.period_start, engagement.period_end, "Extension"
    else:
        return None
    total = max(1, (end - start).days)
    return name, min(max(1, (today - start).days + 1), total), total


def owner_choices() -> list[User]:
    """Users who may own an engagement (managers and admins), by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_([Role.MANAGER, Role.ADMIN]), User.is_active.is_(True))
            .order_by(User.name)
        )
    )


def contact_choices() -> list[User]:
    """Internal users who may be an engagement's technical contact."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role != Role.PROVIDER, User.is_active.is_(True))
            .order_by(User.name)
        )
    )


def provider_choices() -> list[ProviderOrganisation]:
    return list(
        db.session.scalars(select(ProviderOrganisation).order_by(ProviderOrganisation.name))
    )
