"""Read-side queries for the dashboard and engagement lists: a constant number of queries.

The page of engagements is one query; counts, next milestones and overdue
items are each one GROUP BY (or IN) query over the engagements on the page,
never one query per row.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import contains_eager

from tracker.auth.permissions import visible_clause
from tracker.core import clock
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
from tracker.services import lifecycle
from tracker.services.engagement_queries import like_pattern
from tracker.services.readiness import Readiness, readiness_many

HEALTH_ORDER = (Health.RED, Health.AMBER, Health.GREEN)
SORTS = ("title", "state", "health", "provider", "owner", "period_end", "updated")
MAX_PER_PAGE = 200
MAX_SEARCH = 200


@dataclass(frozen=True)
class DashboardQuery:
    """Filters, sort and page, as they appear in the URL."""

    state: str | None = None
    health: str | None = None
    provider_id: int | None = None
    owner_id: int | None = None
    q: str | None = None  # words to find in the title, problem, provider or owner
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
    readiness_score: int | None = None
    readiness_gaps: int | None = None
    readiness: Readiness | None = None  # the parts, for the dashboard's bar (page rows only)

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
    providers: list = field(default_factory=list)  # rows of (id, name)
    owners: list = field(default_factory=list)  # rows of (id, name)

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


def _search_arg(args) -> str | None:
    raw = " ".join((args.get("q") or "").split())
    if len(raw) > MAX_SEARCH:
        raise ValidationFailed(
            f"'q' must be at most {MAX_SEARCH} characters.",
            errors={"q": [f"At most {MAX_SEARCH} characters."]},
        )
    return raw or None


def parse_query(args) -> DashboardQuery:
    """Read filters from request args; a bad value raises ValidationFailed naming the field."""
    sort = (args.get("sort") or "health").strip()
    descending = sort.startswith("-")
    # "-" alone leaves an empty key, which _choice_arg reads as "not given": name it invalid.
    _choice_arg({"sort": sort.removeprefix("-") or sort}, "sort", SORTS)
    return DashboardQuery(
        state=_choice_arg(args, "state", lifecycle.known_states()),
        health=_choice_arg(args, "health", [h.value for h in HEALTH_ORDER]),
        provider_id=_int_arg(args, "provider", None, 1, 2**31 - 1),
        owner_id=_int_arg(args, "owner", None, 1, 2**31 - 1),
        q=_search_arg(args),
        sort=sort.removeprefix("-"),
        descending=descending,
        page=_int_arg(args, "page", 1, 1, 100000),
        per_page=_int_arg(args, "per_page", 50, 1, MAX_PER_PAGE),
    )


def _rank(expr, order) -> object:
    return case({value: index for index, value in enumerate(order)}, value=expr, else_=99)


def _order_by(query: DashboardQuery):
    keys = {
        "title": func.lower(Engagement.title),
        "state": _rank(Engagement.state, lifecycle.known_states()),
        "health": _rank(Engagement.effective_health, [h.value for h in HEALTH_ORDER]),
        "provider": func.lower(ProviderOrganisation.name),
        "owner": func.lower(User.name),
        "period_end": func.coalesce(Engagement.period_end, Engagement.trial_end),
        "updated": Engagement.updated_at,
    }
    key = keys[query.sort]
    primary = key.desc() if query.descending else key.asc()
    return [primary, Engagement.id.asc()]


def _base_filters(actor: User, query: DashboardQuery) -> list:
    clauses = [visible_clause(actor)]
    if query.state:
        clauses.append(Engagement.state == query.state)
    else:
        clauses.append(Engagement.closed_at.is_(None))  # "live" unless closed is asked for
    if query.health:
        clauses.append(Engagement.effective_health == query.health)
    if query.provider_id:
        clauses.append(Engagement.provider_id == query.provider_id)
    if query.owner_id:
        clauses.append(Engagement.owner_id == query.owner_id)
    if query.q:
        clauses.append(_search_clause(query.q))
    return clauses


def _search_clause(text: str):
    """Case-insensitive: the title, the problem statement, the provider's or owner's name.

    The provider and owner are matched by id subqueries, so the page's id query
    needs no joins and the search adds no statement.
    """
    pattern = like_pattern(text)

    def matches(column):
        return func.lower(column).like(pattern, escape="\\")

    return or_(
        matches(Engagement.title),
        matches(Engagement.problem_statement),
        Engagement.provider_id.in_(
            select(ProviderOrganisation.id).where(matches(ProviderOrganisation.name))
        ),
        Engagement.owner_id.in_(select(User.id).where(matches(User.name))),
    )


def build_dashboard(actor: User, query: DashboardQuery, *, today: date | None = None) -> Dashboard:
    """The filtered, sorted page of visible engagements, with counts and per-row facts."""
    today = today or clock.now().date()
    clauses = _base_filters(actor, query)
    rows = _page_rows(query, clauses)
    board = Dashboard(query=query, rows=rows, total=0)
    board.by_state, board.by_health = _counts(actor)
    board.total = _total(query, clauses, board)
    _attach_row_facts(rows, today)
    _attach_readiness_parts(rows)
    board.providers, board.owners = _filter_choices(actor)
    return board


def rows_in_batches(
    actor: User, query: DashboardQuery, *, today: date, batch: int = 500
) -> Iterator[list[DashboardRow]]:
    """Every row the dashboard's filters and sort select (all pages), `batch` at a time.

    For exports: each batch costs the same few queries as one dashboard page.
    """
    clauses = _base_filters(actor, query)
    for page in itertools.count(1):
        rows = _page_rows(replace(query, page=page, per_page=batch), clauses)
        _attach_row_facts(rows, today)
        if rows:
            yield rows
        if len(rows) < batch:
            return


def rows_for_ids(ids: list[int], *, today: date) -> list[DashboardRow]:
    """Dashboard rows (with next milestone, overdue counts, readiness) for these ids, in order."""
    rows = _load_rows(list(ids))
    _attach_row_facts(rows, today)
    return rows


def _page_rows(query: DashboardQuery, clauses: list) -> list[DashboardRow]:
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
        ids_query.order_by(*_order_by(query))
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    ).all()
    return _load_rows(ids)


def _load_rows(ids: list[int]) -> list[DashboardRow]:
    """The engagements with these ids, in this order, with provider and owner joined."""
    if not ids:
        return []
    loaded = db.session.scalars(
        select(Engagement)
        .join(ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id)
        .join(User, User.id == Engagement.owner_id)
        .options(contains_eager(Engagement.provider), contains_eager(Engagement.owner))
        .where(Engagement.id.in_(ids))
    )
    by_id = {e.id: DashboardRow(e, e.effective_health) for e in loaded}
    return [by_id[engagement_id] for engagement_id in ids]


def _total(query: DashboardQuery, clauses: list, board: Dashboard) -> int:
    """How many engagements match; read off the badge counts when the filters allow."""
    if query.provider_id is None and query.owner_id is None and query.q is None:
        if query.state is None and query.health is None:
            return sum(board.by_health.values())
        if query.health is None:
            return board.by_state.get(query.state, 0)
    return db.session.scalar(select(func.count(Engagement.id)).where(*clauses)) or 0


def _counts(actor: User) -> tuple[dict[str, int], dict[str, int]]:
    """Live engagements by state and by health (the filters' badges), two GROUP BYs."""
    visible = visible_clause(actor)
    by_state = dict(
        db.session.execute(
            select(Engagement.state, func.count()).where(visible).group_by(Engagement.state)
        ).all()
    )
    by_health = dict(
        db.session.execute(
            select(Engagement.effective_health, func.count())
            .where(visible, Engagement.closed_at.is_(None))
            .group_by(Engagement.effective_health)
        ).all()
    )
    ordered_states = {s: by_state.get(s, 0) for s in lifecycle.known_states()}
    ordered_states.update({s: n for s, n in by_state.items() if s not in ordered_states})
    return ordered_states, {h.value: by_health.get(h.value, 0) for h in HEALTH_ORDER}


def _filter_choices(actor: User) -> tuple[list, list]:
    """(id, name) of the providers and owners on the engagements this user can see."""
    # Straight from the visible engagements: the (provider_id, state) and (owner_id, state)
    # indexes cover these, where an extra `id IN (visible ids)` level scanned the table.
    # Two columns, not ORM objects: hydrating ~200 users was most of this step's cost.
    visible = visible_clause(actor)
    providers = db.session.execute(
        select(ProviderOrganisation.id, ProviderOrganisation.name)
        .where(ProviderOrganisation.id.in_(select(Engagement.provider_id).where(visible)))
        .order_by(ProviderOrganisation.name)
    ).all()
    owners = db.session.execute(
        select(User.id, User.name)
        .where(User.id.in_(select(Engagement.owner_id).where(visible)))
        .order_by(User.name)
    ).all()
    return list(providers), list(owners)


def _attach_row_facts(rows: list[DashboardRow], today: date) -> None:
    """Next open milestone, overdue counts and readiness for the rows: three queries."""
    by_id = {row.engagement.id: row for row in rows}
    if not by_id:
        return
    ids = list(by_id)
    open_status = Milestone.status.not_in([s.value for s in FINAL_MILESTONE_STATUSES]) & (
        Milestone.removed_at.is_(None)
    )
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
    _attach_readiness(rows)


def _attach_readiness(rows: list[DashboardRow]) -> None:
    """The cached score; computed here only for rows not scored yet (after a migration)."""
    unscored = [row.engagement.id for row in rows if row.engagement.readiness_score is None]
    computed = readiness_many(unscored)
    for row in rows:
        engagement = row.engagement
        if engagement.id in computed:
            ready = computed[engagement.id]
            row.readiness_score, row.readiness_gaps = ready.score, len(ready.gaps)
        else:
            row.readiness_score, row.readiness_gaps = (
                engagement.readiness_score,
                engagement.readiness_gaps,
            )


def _attach_readiness_parts(rows: list[DashboardRow]) -> None:
    """Each row's readiness breakdown (a fixed six queries for the page, whatever its size).

    Only the dashboard page draws the parts; exports and digests read the cached score.
    """
    breakdown = readiness_many(row.engagement.id for row in rows)
    for row in rows:
        row.readiness = breakdown.get(row.engagement.id)
        if row.readiness is not None:
            row.readiness_score, row.readiness_gaps = row.readiness.score, len(row.readiness.gaps)


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
