"""The one read model for lists of engagements: filters, sort, paging, visibility, row facts.

The dashboard, the engagements page, GET /api/v1/engagements, both CSV exports and the
digests read their engagements through here, so a filter or sort key means the same
thing everywhere. One parameter parser (`parse_args`, over the API's query schema) and one
sort vocabulary (`SORT_KEYS`, "-" for descending).

Every page costs a constant number of statements whatever its size: the page's ids from
the narrow engagement rows (joins only to sort by provider or owner), those rows with
provider and owner joined, a COUNT unless the caller already knows the total, and, when
asked for, three statements of row facts (next milestone, overdue milestones and items).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from marshmallow import EXCLUDE
from marshmallow import ValidationError as SchemaError
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import contains_eager

from tracker.auth.permissions import Action, require, visible_clause
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

    @property
    def overdue(self) -> int:
        return self.overdue_milestones + self.overdue_checklist


@dataclass(frozen=True)
class Page(ItemsPage):
    """A page of the list: the engagements (`items`, what the API dumps) and their rows
    with the facts beside them (what the pages and exports show)."""

    rows: list[ListRow] = field(default_factory=list)


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
        "health": lambda: _rank(Engagement.effective_health, [h.value for h in HEALTH_ORDER]),
        "provider": lambda: func.lower(ProviderOrganisation.name),
        "owner": lambda: func.lower(User.name),
        "period_end": lambda: func.coalesce(Engagement.period_end, Engagement.trial_end),
        "trial_end": lambda: Engagement.trial_end,
        "created_at": lambda: Engagement.created_at,
        "updated_at": lambda: Engagement.updated_at,
        "id": lambda: Engagement.id,
    }
    assert set(keys) == set(SORT_KEYS), "one sort vocabulary: the schema's"
    key = keys[query.sort]()
    if query.descending:
        return [key.desc(), Engagement.id.desc()]
    return [key.asc(), Engagement.id.asc()]


def list_page(
    actor: User,
    query: ListQuery,
    *,
    facts: bool = True,
    today: date | None = None,
    total: int | None = None,
) -> Page:
    """One page of the engagements this user may see, with its total.

    `facts=False` loads only the summary columns (the API's rows, as dicts, not
    engagements) and skips the row facts; `total` skips the COUNT when the caller has
    it already (the dashboard's badges).
    """
    require(actor, Action.VIEW)
    where = clauses(actor, query)
    rows = _page_rows(query, where, summary=not facts)
    if facts:
        attach_facts(rows, today or _today())
    if total is None:
        total = db.session.scalar(select(func.count(Engagement.id)).where(*where)) or 0
    items = [row.engagement for row in rows]
    return Page(items, query.page, query.per_page, total, rows=rows)


def rows_in_batches(
    actor: User, query: ListQuery, *, today: date, batch: int = 500
) -> Iterator[list[ListRow]]:
    """Every row the query selects (all pages), `batch` at a time, with their facts.

    For exports: each batch costs the same few statements as one page.
    """
    require(actor, Action.VIEW)
    where = clauses(actor, query)
    for number in itertools.count(1):
        rows = _page_rows(replace(query, page=number, per_page=batch), where, summary=False)
        attach_facts(rows, today)
        if rows:
            yield rows
        if len(rows) < batch:
            return


def _today() -> date:
    from tracker.core import clock

    return clock.now().date()


def _page_rows(query: ListQuery, where: list, *, summary: bool) -> list[ListRow]:
    """One statement: the page's ids sorted and cut on the narrow engagement rows in a
    subquery, then only those rows loaded with provider and owner joined.

    Sorting every row with the provider and owner joined cost ~3x more at 10,000
    engagements; the subquery joins them only to sort by provider or owner.
    """
    ids_query = select(Engagement.id).where(*where)
    if query.sort == "provider":
        ids_query = ids_query.join(
            ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id
        )
    if query.sort == "owner":
        ids_query = ids_query.join(User, User.id == Engagement.owner_id)
    page_ids = (
        ids_query.order_by(*_order_by(query))
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
        .correlate(None)  # its own provider/user joins, not the outer query's
    )
    if summary:
        return _summary_rows(page_ids, _order_by(query))
    statement = _rows_statement().where(Engagement.id.in_(page_ids))
    return [
        ListRow(e, e.effective_health)
        for e in db.session.scalars(statement.order_by(*_order_by(query)))
    ]


# A summary row carries the columns the API's list shows: loading the wide columns (texts,
# the reasons' JSON) and whole user rows was half of a 50-row page's time. A field added
# to EngagementSummarySchema must be added here (tests/services/read_model/test_engagement_list.py).
SUMMARY_COLUMNS = (
    "id", "title", "state", "effective_health", "structure", "provider_id", "owner_id",
    "trial_start", "trial_end", "period_end", "updated_at", "version", "monthly_cost",
    "currency", "readiness_score", "readiness_gaps",
)  # fmt: skip


def _summary_rows(page_ids, order_by: list) -> list[ListRow]:
    """The API list's rows as plain dicts of the summary columns with the provider and
    owner nested, read as Core rows: the schema dumps dicts as it dumps objects, and the
    ORM's identity map and instance state were most of a 50-row page's cost."""
    statement = _summary_select().where(Engagement.id.in_(page_ids)).order_by(*order_by)
    rows = []
    for found in db.session.execute(statement).mappings():
        item = dict(found)
        item["provider"] = {"id": item["provider_id"], "name": item.pop("_provider")}
        item["owner"] = {"id": item["owner_id"], "name": item.pop("_owner")}
        rows.append(ListRow(item, item["effective_health"]))
    return rows


@functools.cache
def _summary_select():
    """The summary columns with the provider's and owner's names, built once: labelling
    and joining them anew was a fifth of the API list's own time (ADR 0225)."""
    columns = [getattr(Engagement, name).label(name) for name in SUMMARY_COLUMNS]
    return (
        select(*columns, ProviderOrganisation.name.label("_provider"), User.name.label("_owner"))
        .join(ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id)
        .join(User, User.id == Engagement.owner_id)
    )


def _rows_statement():
    """SELECT engagements with provider and owner joined (loaded with them)."""
    return (
        select(Engagement)
        .join(ProviderOrganisation, ProviderOrganisation.id == Engagement.provider_id)
        .join(User, User.id == Engagement.owner_id)
        .options(contains_eager(Engagement.provider), contains_eager(Engagement.owner))
    )


def attach_facts(rows: list[ListRow], today: date) -> None:
    """Next open milestone, overdue counts and readiness for the rows: three statements."""
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
