"""The one read model for lists of engagements: filters, sort, paging, visibility, row facts.

The dashboard, the engagements page, GET /api/v1/engagements, both CSV exports and the
digests read their engagements through here, so a filter or sort key means the same
thing everywhere. One parameter parser (`parse_args`, over the API's query schema) and one
sort vocabulary (`SORT_KEYS`, "-" for descending).

Every page costs a constant number of statements whatever its size: the page's ids from
the narrow engagement rows (joins only to sort by provider or owner), those rows with
provider and owner joined, a COUNT unless the caller already knows the total (the API's
page counts in the statement that reads its rows), and, when asked for, two statements
of row facts (the next milestones; the late milestones and checklist
items counted). `views=True` reads the rows as read-only views, not entities (ADR 0257).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import NamedTuple

from marshmallow import EXCLUDE
from marshmallow import ValidationError as SchemaError
from sqlalchemy import Date, and_, bindparam, case, func, literal, or_, select, union_all
from sqlalchemy.orm import contains_eager

from tracker.auth.permissions import (
    Action,
    require,
    visibility_rule,
    visible_clause,
    visible_clause_for,
)
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
    User,
)
from tracker.schemas.engagement import SEARCH_MAX, SORT_KEYS, EngagementQuerySchema
from tracker.services.judgments.readiness import readiness_many
from tracker.services.read_model.engagement_queries import Page as ItemsPage
from tracker.services.workflow import lifecycle
from workflows.subject import DATE_KEYS

HEALTH_ORDER = (Health.RED, Health.AMBER, Health.GREEN)


@dataclass(frozen=True)
class ListQuery:
    """What a list selects and in which order: the same fields as the URL's parameters."""

    state: str | None = None
    health: str | None = None
    provider_id: int | None = None
    owner_id: int | None = None
    q: str | None = None  # words in the title, problem statement, provider or owner name
    # The pages' typed pickers (not API parameters): a name, or part of one; an exact
    # name (what the picker's suggestions fill in) selects only that one
    owner: str | None = None
    provider: str | None = None
    live_only: bool = False  # leave closed engagements out unless a state is asked for
    sort: str = "updated_at"
    descending: bool = True
    page: int = 1
    per_page: int = 25

    @property
    def sort_param(self) -> str:
        return f"{'-' if self.descending else ''}{self.sort}"


@dataclass
class ListRow:
    """One engagement with the facts a list shows beside it."""

    engagement: Engagement
    health: str
    next_milestone: Milestone | None = None
    overdue_milestones: int = 0
    overdue_checklist: int = 0
    readiness_score: int | None = None
    readiness_gaps: int | None = None
    readiness: object | None = None  # the parts, where a page draws the bar
    # targets met this period with the milestones missed or overdue beside them, where
    # shown (evidence.judgment.PeriodSummary)
    period_summary: object | None = None
    # the next milestone's displayed status, weighed against its judged targets, where shown
    next_status: object | None = None
    # what the lifecycle says of the state, where shown: the State (its label and tone),
    # the hold's words while paused, ("Trial", day X, of N) while a dated period runs
    state: object | None = None
    hold: str | None = None
    progress: tuple[str, int, int] | None = None

    @property
    def overdue(self) -> int:
        return self.overdue_milestones + self.overdue_checklist


@dataclass(frozen=True)
class Page(ItemsPage):
    """A page of the list: the engagements (`items`) and their rows with the facts beside
    them (what the pages and exports show). The API's page (`facts=False`) has result rows
    as items, tuples whose columns `columns` names (`SUMMARY_COLUMNS`, the provider's and
    owner's as `provider.id`, `provider.name`…), and no ListRows."""

    rows: list[ListRow] = field(default_factory=list)
    columns: tuple[str, ...] = ()


def query_from_args(args: Mapping, *, live_only: bool = False) -> ListQuery:
    """A ListQuery from arguments the query schema has loaded; an unknown state is a 422."""
    state = args.get("state")
    if state and state not in lifecycle.known_states():
        choices = ", ".join(lifecycle.known_states())
        raise ValidationFailed(
            f"'state' must be one of: {choices}.", errors={"state": [f"Choose one of: {choices}."]}
        )
    sort = args.get("sort") or "-updated_at"
    q = " ".join((args.get("q") or "").split()) or None
    return ListQuery(
        state=state or None,
        health=args.get("health") or None,
        provider_id=args.get("provider_id"),
        owner_id=args.get("owner_id"),
        q=q,
        live_only=live_only,
        sort=sort.removeprefix("-"),
        descending=sort.startswith("-"),
        page=args.get("page", 1),
        per_page=args.get("per_page", 25),
    )


def parse_args(raw: Mapping, *, defaults: Mapping | None = None, live_only: bool = False):
    """The pages' parser: the API's schema over the URL (blank fields count as not given)."""
    given = {key: raw.get(key, "").strip() for key in raw.keys()}
    values = {**(defaults or {}), **{key: value for key, value in given.items() if value}}
    try:
        loaded = EngagementQuerySchema().load(values, unknown=EXCLUDE)
    except SchemaError as exc:
        errors = exc.normalized_messages()
        fields = ", ".join(f"'{name}'" for name in sorted(errors))
        raise ValidationFailed(f"Check {fields}.", errors=errors) from None
    names = {name: _typed_name(given, name) for name in ("owner", "provider")}
    return replace(query_from_args(loaded, live_only=live_only), **names)


def _typed_name(given: Mapping, name: str) -> str | None:
    """A picker's typed text, spaces collapsed; longer than a search is a 422 naming it."""
    text = " ".join(given.get(name, "").split())
    if len(text) > SEARCH_MAX:
        message = f"At most {SEARCH_MAX} characters."
        raise ValidationFailed(f"Check '{name}'.", errors={name: [message]})
    return text or None


def clauses(actor: User, query: ListQuery) -> list:
    """The WHERE of the query: what the user may see, then each filter given."""
    where = [visible_clause(actor)]
    if query.state:
        where.append(Engagement.state == query.state)
    elif query.live_only:
        where.append(Engagement.closed_at.is_(None))
    if query.health:
        where.append(Engagement.effective_health == query.health)
    if query.provider_id:
        where.append(Engagement.provider_id == query.provider_id)
    if query.owner_id:
        where.append(Engagement.owner_id == query.owner_id)
    if query.owner:
        where.append(Engagement.owner_id.in_(named_ids(User, query.owner)))
    if query.provider:
        where.append(Engagement.provider_id.in_(named_ids(ProviderOrganisation, query.provider)))
    if query.q:
        where.append(_search_clause(query.q))
    return where


def named_ids(model, text: str):
    """A subquery of the ids of the users or organisations a picker's text names: those
    whose name is the text (case-blind) when there are any, else those whose name
    contains it. So a suggestion picked from the list selects that one, not every name
    it is part of, and a typed fragment still finds without script."""
    name = func.lower(model.name)
    exact = name == text.lower()
    partial = name.like(like_pattern(text), escape="\\")
    any_exact = select(model.id).where(exact).exists()
    return select(model.id).where(or_(exact, and_(partial, ~any_exact)))


def like_pattern(text: str) -> str:
    """A LIKE pattern finding the text anywhere, its wildcards escaped (use escape="\\")."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search_clause(text: str):
    """Case-insensitive: the title, the problem statement, the provider's or owner's name.

    The provider and owner are matched by id subqueries, so the page's id query needs
    no joins and the search adds no statement.
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


def _rank(expr, order) -> object:
    return case({value: index for index, value in enumerate(order)}, value=expr, else_=99)


def _order_by(query: ListQuery) -> list:
    """States in lifecycle order, health worst first, names case-blind, ties by id."""
    keys = {
        "title": lambda: func.lower(Engagement.title),
        "state": lambda: _rank(Engagement.state, lifecycle.known_states()),
        # the stored rank (models.base.health_rank): an index serves the page (ADR 0239)
        "health": lambda: Engagement.health_rank,
        "provider": lambda: func.lower(ProviderOrganisation.name),
        "owner": lambda: func.lower(User.name),
        "period_end": lambda: func.coalesce(Engagement.period_end, Engagement.trial_end),
        "trial_end": lambda: Engagement.trial_end,
        "created_at": lambda: Engagement.created_at,
        "updated_at": lambda: Engagement.updated_at,
        "id": lambda: Engagement.id,
    }
    assert set(keys) == set(SORT_KEYS), "one sort vocabulary: the schema's"
    ordered = [keys[query.sort](), Engagement.id]
    if query.sort == "health" and query.live_only and not query.state:
        # Only live rows (closed_at IS NULL): leading with closed_at changes no order, and
        # lets PostgreSQL read (closed_at, health_rank, id) in order up to the LIMIT; it
        # does not take IS NULL as fixing an index's first column (ADR 0239).
        ordered.insert(0, Engagement.closed_at)
    return [key.desc() if query.descending else key.asc() for key in ordered]


def list_page(
    actor: User,
    query: ListQuery,
    *,
    facts: bool = True,
    today: date | None = None,
    total: int | None = None,
    views: bool = False,
) -> Page:
    """One page of the engagements this user may see, with its total.

    `facts=False` reads only the summary columns, as result rows (the API's, not
    engagements; see `Page`), with the total in the same statement, and skips the row
    facts; `total` skips the COUNT when the caller has it already (the dashboard's
    badges). `views=True` gives each row a read-only `EngagementView` and its next
    milestone a `MilestoneView` (the pages' table), not entities.
    """
    require(actor, Action.VIEW)
    if not facts:
        found, total = _summary_page(actor, query, total)
        return Page(found.rows, query.page, query.per_page, total, columns=found.columns)
    where = clauses(actor, query)
    if views:
        rows = _view_rows(query, where)
    else:
        rows = _page_rows(query, where)
    if facts:
        attach_facts(rows, today or _today(), views=views)
    if total is None:
        total = db.session.scalar(select(func.count(Engagement.id)).where(*where)) or 0
    items = [row.engagement for row in rows]
    return Page(items, query.page, query.per_page, total, rows=rows)


# The API list's statements by the shape of its query (which filters are given, the sort,
# the visibility rule), each built once with the values as bound parameters: a statement
# object keeps its compiled-SQL cache key, so a page skips building the query and walking
# it (issue 29). A text search or a picker's names build their clauses as before.
_FILTERS = (
    ("state", lambda: Engagement.state == bindparam("state")),
    ("health", lambda: Engagement.effective_health == bindparam("health")),
    ("provider_id", lambda: Engagement.provider_id == bindparam("provider_id")),
    ("owner_id", lambda: Engagement.owner_id == bindparam("owner_id")),
)


def _summary_shape(actor: User, query: ListQuery) -> tuple | None:
    if query.q or query.owner or query.provider:
        return None
    rule, _params = visibility_rule(actor)
    given = tuple(name for name, _clause in _FILTERS if getattr(query, name))
    live_only = query.live_only and not query.state
    states = tuple(lifecycle.known_states()) if query.sort == "state" else ()
    return (rule, given, live_only, query.sort, query.descending, states)


def _shape_params(actor: User, query: ListQuery) -> dict:
    params = dict(visibility_rule(actor)[1])
    params.update({name: getattr(query, name) for name, _c in _FILTERS if getattr(query, name)})
    params["page_limit"] = query.per_page
    params["page_offset"] = (query.page - 1) * query.per_page
    return params


class SummaryStatements(NamedTuple):
    """The API page's statements: its rows with the total as their last column, its rows
    alone (the caller knows the total), and the COUNT (a page past the last has no row)."""

    counted: object
    rows: object
    count: object


@functools.lru_cache(maxsize=256)
def _summary_statements(shape: tuple) -> SummaryStatements:
    """The statements of one query shape, as `clauses` and `_page_ids` would build them
    for any values of that shape."""
    rule, given, live_only, sort, descending, _states = shape
    where = [visible_clause_for(rule)]
    where += [clause() for name, clause in _FILTERS if name in given]
    if live_only:
        where.append(Engagement.closed_at.is_(None))
    query = ListQuery(sort=sort, descending=descending)
    page_ids = _page_ids(query, where, limit=bindparam("page_limit"))
    page_ids = page_ids.offset(bindparam("page_offset"))
    return _summary_statements_for(page_ids, _order_by(query), where)


def _summary_statements_for(page_ids, order_by: list, where: list) -> SummaryStatements:
    count = select(func.count(Engagement.id)).where(*where)
    rows = _summary_select().where(Engagement.id.in_(page_ids)).order_by(*order_by)
    counted = rows.add_columns(count.scalar_subquery().label("_total"))
    return SummaryStatements(counted, rows, count)


class SummaryRows(NamedTuple):
    """The API page's result rows and the names of their columns, in order."""

    rows: list
    columns: tuple[str, ...]


def _summary_page(actor: User, query: ListQuery, total: int | None) -> tuple[SummaryRows, int]:
    """The API's page as result rows (no ORM entities, no dict per row) and its total,
    counted in the same statement: an uncorrelated scalar subquery that both databases
    run once, so the page costs one statement, one round trip on PostgreSQL.

    Sent on the session's connection, not through `Session.execute`: the ORM's execution
    steps for rows that are no entities were a quarter of the statement's time (issue 29).
    A text search or a picker's names build their clauses for this query alone."""
    if (shape := _summary_shape(actor, query)) is not None:
        statements, params = _summary_statements(shape), _shape_params(actor, query)
    else:
        where = clauses(actor, query)
        page_ids = _page_ids(query, where)
        statements, params = _summary_statements_for(page_ids, _order_by(query), where), {}
    connection = db.session.connection()
    statement = statements.counted if total is None else statements.rows
    result = connection.execute(statement, params)
    columns, rows = tuple(result.keys()), result.all()
    if total is None:
        total = rows[0][-1] if rows else connection.execute(statements.count, params).scalar()
    return SummaryRows(rows, columns), total or 0


def rows_in_batches(
    actor: User, query: ListQuery, *, today: date, batch: int = 500
) -> Iterator[list[ListRow]]:
    """Every row the query selects (all pages), `batch` at a time, with their facts.

    For exports: each batch costs the same few statements as one page.
    """
    require(actor, Action.VIEW)
    where = clauses(actor, query)
    for number in itertools.count(1):
        rows = _page_rows(replace(query, page=number, per_page=batch), where)
        attach_facts(rows, today)
        if rows:
            yield rows
        if len(rows) < batch:
            return


def _today() -> date:
    from tracker.core import clock

    return clock.now().date()


def _page_ids(query: ListQuery, where: list, *, limit=None):
    """The page's ids, sorted and cut on the narrow engagement rows (a subquery); `limit`
    and an offset to add (bound parameters), or the query's page."""
    ids_query = select(Engagement.id).where(*where)
    if query.sort == "provider":
        ids_query = ids_query.join(
            ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id
        )
    if query.sort == "owner":
        ids_query = ids_query.join(User, User.id == Engagement.owner_id)
    ordered = ids_query.order_by(*_order_by(query))
    ordered = ordered.correlate(None)  # its own provider/user joins, not the outer query's
    if limit is not None:
        return ordered.limit(limit)
    return ordered.limit(query.per_page).offset((query.page - 1) * query.per_page)


def _page_rows(query: ListQuery, where: list) -> list[ListRow]:
    """One statement: the page's ids sorted and cut on the narrow engagement rows in a
    subquery, then only those rows loaded with provider and owner joined.

    Sorting every row with the provider and owner joined cost ~3x more at 10,000
    engagements; the subquery joins them only to sort by provider or owner.
    """
    statement = _rows_statement().where(Engagement.id.in_(_page_ids(query, where)))
    return [
        ListRow(e, e.effective_health)
        for e in db.session.scalars(statement.order_by(*_order_by(query)))
    ]


# A summary row carries the columns the API's list shows: loading the wide columns (texts,
# the reasons' JSON) and whole user rows was half of a 50-row page's time. A field added
# to EngagementSummarySchema must be added here (tests/services/read_model/test_engagement_list.py).
SUMMARY_COLUMNS = (
    "id", "title", "state", "effective_health", "structure", "trial_start", "trial_end",
    "period_end", "updated_at", "version", "monthly_cost", "currency", "readiness_score",
    "readiness_gaps",
)  # fmt: skip


@functools.cache
def _summary_select():
    """The summary columns with the provider's and owner's id and name, labelled as the
    schema's nested fields read them (`schemas.common.result_row_dumper`), built once:
    labelling and joining them anew was a fifth of the API list's own time (ADR 0225)."""
    columns = [getattr(Engagement, name).label(name) for name in SUMMARY_COLUMNS]
    return (
        select(
            *columns,
            Engagement.provider_id.label("provider.id"),
            ProviderOrganisation.name.label("provider.name"),
            Engagement.owner_id.label("owner.id"),
            User.name.label("owner.name"),
        )
        .join(ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id)
        .join(User, User.id == Engagement.owner_id)
    )


class Named(NamedTuple):
    """A listed engagement's provider or owner: what a row shows of them."""

    id: int
    name: str


# What a page's table shows of an engagement and what the lifecycle reads to say what its
# state means (the definition, the period's dates, the hold): the narrow columns and the
# stored readiness breakdown, without the texts a table never shows.
VIEW_COLUMNS = (
    "id", "title", "structure", "state", "closed_at", "provider_id", "owner_id",
    "workflow_name", "workflow_version", "workflow_hash", "current_period",
    "paused_from_state", "paused_at", "pause_reason", *DATE_KEYS,
    "health", "health_reasons", "health_override", "health_override_note",
    "effective_health", "readiness_score", "readiness_gaps", "readiness_parts",
    "updated_at", "version",
)  # fmt: skip


class EngagementView:
    """A listed engagement, read-only: the VIEW_COLUMNS with `provider` and `owner`
    (their id and name). Read as Core rows: building fifty ORM entities with their
    instance state, and loading columns no row shows, was a third of the dashboard's
    query time (ADR 0257). The lifecycle's functions take it as they take an engagement.
    """

    __slots__ = (*VIEW_COLUMNS, "provider", "owner")

    def __init__(self, values, provider: Named, owner: Named) -> None:
        for name, value in zip(VIEW_COLUMNS, values, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "provider", provider)
        object.__setattr__(self, "owner", owner)

    def __setattr__(self, name, value):
        raise AttributeError(f"a listed engagement is read-only ({name})")

    def __repr__(self) -> str:
        return f"<EngagementView {self.id} {self.title!r}>"


class MilestoneView(NamedTuple):
    """A row's next milestone, read-only: what the table and its displayed status read."""

    id: int
    engagement_id: int
    title: str
    due_date: date
    status: str
    last_update_at: object
    verdict_at: object


@functools.cache
def _view_select():
    """The view columns with the provider's and owner's names, built once."""
    columns = [getattr(Engagement, name) for name in VIEW_COLUMNS]
    return (
        select(*columns, ProviderOrganisation.name, User.name)
        .join(ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id)
        .join(User, User.id == Engagement.owner_id)
    )


def _view_rows(query: ListQuery, where: list) -> list[ListRow]:
    """The page's rows as EngagementViews: one statement, as `_page_rows`."""
    order_by = _order_by(query)
    statement = _view_select().where(Engagement.id.in_(_page_ids(query, where)))
    found = db.session.execute(statement.order_by(*order_by)).all()
    width = len(VIEW_COLUMNS)
    rows = []
    for values in found:
        provider = Named(values.provider_id, values[width])
        owner = Named(values.owner_id, values[width + 1])
        view = EngagementView(values[:width], provider, owner)
        rows.append(ListRow(view, view.effective_health))
    return rows


def _rows_statement():
    """SELECT engagements with provider and owner joined (loaded with them)."""
    return (
        select(Engagement)
        .join(ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id)
        .join(User, User.id == Engagement.owner_id)
        .options(contains_eager(Engagement.provider), contains_eager(Engagement.owner))
    )


def attach_facts(rows: list[ListRow], today: date, *, views: bool = False) -> None:
    """Next open milestone, overdue counts and readiness for the rows: two statements.
    `views`: each next milestone a MilestoneView, not an entity."""
    by_id = {row.engagement.id: row for row in rows}
    if not by_id:
        return
    ids = list(by_id)
    params = {"ids": [int(i) for i in ids], "today": today}
    upcoming, late = _facts_statements(views)
    for found in db.session.execute(upcoming, params):
        milestone = MilestoneView(*found) if views else found[0]
        row = by_id[milestone.engagement_id]
        if row.next_milestone is None:  # the first by id of those due first
            row.next_milestone = milestone
    for kind, engagement_id, count in db.session.execute(late, params):
        if kind == "milestone":
            by_id[engagement_id].overdue_milestones = count
        else:
            by_id[engagement_id].overdue_checklist = count
    _attach_readiness(rows)


@functools.cache
def _facts_statements(views: bool) -> tuple:
    """(each engagement's open milestones due on its first open due date, by id; the late
    open milestones and checklist items counted per engagement) for bound `ids` and
    `today`, built once. Both read the (engagement, due date) index for the page's ids
    only: numbering every open milestone of the page in a window and sorting them cost
    SQLite twice as much, and a subquery correlated to each row is what
    tests/perf/test_query_plans.py forbids (ADR 0257)."""
    ids = bindparam("ids", expanding=True)
    today = bindparam("today", type_=Date)
    final = [status.value for status in FINAL_MILESTONE_STATUSES]
    is_open = Milestone.status.not_in(final) & Milestone.removed_at.is_(None)
    first_due = (
        select(Milestone.engagement_id, func.min(Milestone.due_date).label("due_date"))
        .where(Milestone.engagement_id.in_(ids), is_open)
        .group_by(Milestone.engagement_id)
        .subquery("first_due")
    )
    shown = [getattr(Milestone, name) for name in MilestoneView._fields] if views else [Milestone]
    upcoming = (
        select(*shown)
        .join(
            first_due,
            and_(
                first_due.c.engagement_id == Milestone.engagement_id,
                first_due.c.due_date == Milestone.due_date,
            ),
        )
        .where(is_open)
        .order_by(Milestone.id)
    )
    late_milestones = (
        select(literal("milestone").label("kind"), Milestone.engagement_id, func.count())
        .where(Milestone.engagement_id.in_(ids), is_open, Milestone.due_date < today)
        .group_by(Milestone.engagement_id)
    )
    late_items = (
        select(literal("checklist").label("kind"), ChecklistItem.engagement_id, func.count())
        .where(
            ChecklistItem.engagement_id.in_(ids),
            ChecklistItem.status == ChecklistStatus.OPEN,
            ChecklistItem.due_date < today,
        )
        .group_by(ChecklistItem.engagement_id)
    )
    return upcoming, union_all(late_milestones, late_items)


def _attach_readiness(rows: list[ListRow]) -> None:
    """The cached score; computed here only for rows not scored yet (after a migration)."""
    unscored = [row.engagement.id for row in rows if row.engagement.readiness_score is None]
    computed = readiness_many(unscored)
    for row in rows:
        engagement = row.engagement
        if engagement.id in computed:
            ready = computed[engagement.id]
            row.readiness_score, row.readiness_gaps = ready.score, len(ready.gaps)
        else:
            row.readiness_score = engagement.readiness_score
            row.readiness_gaps = engagement.readiness_gaps
