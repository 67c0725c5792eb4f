"""The dashboard page: one page of the engagement list with its badges and filter choices.

The list itself (filters, sort, paging, visibility, row facts) is the shared read model in
services/read_model/engagement_list.py; this module adds what only the page shows: counts by state
and health, the provider and owner pickers (the name chosen, and the suggestions a typed
fragment finds, a page at a time: never every owner inline), each row's readiness parts,
and the choices of the engagement form.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, literal_column, select, union_all

from tracker.auth.permissions import (
    Action,
    can,
    visibility_rule,
    visible_clause,
    visible_clause_for,
)
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement, ProviderOrganisation, User
from tracker.services.evidence.reads import as_claim_evidence, list_evidence
from tracker.services.judgments import engagement_counts
from tracker.services.judgments.readiness import parts_from_stored, readiness_many
from tracker.services.milestone_status import displayed_status
from tracker.services.read_model import engagement_list
from tracker.services.read_model.engagement_list import HEALTH_ORDER, ListQuery, ListRow
from tracker.services.workflow import lifecycle

# The dashboard's own defaults over the shared vocabulary: worst health first, 50 a page,
# live engagements unless a state is chosen.
PAGE_DEFAULTS = {"sort": "health", "per_page": "50"}


@dataclass(frozen=True)
class Pickers:
    """What the owner and provider filters show: the text in each box (what was typed, or
    the name of an id given in the URL) and whether a provider filter is worth showing."""

    owner: str = ""
    provider: str = ""
    several_providers: bool = False


@dataclass
class Dashboard:
    """Everything the dashboard page renders."""

    query: ListQuery
    rows: list[ListRow]
    total: int
    by_state: dict[str, int] = field(default_factory=dict)
    by_health: dict[str, int] = field(default_factory=dict)
    pickers: Pickers | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


def parse_query(args) -> ListQuery:
    """The page's URL parameters; a bad value raises ValidationFailed naming the field."""
    return engagement_list.parse_args(args, defaults=PAGE_DEFAULTS, live_only=True)


def build_dashboard(actor: User, query: ListQuery, *, today: date | None = None) -> Dashboard:
    """The filtered, sorted page of visible engagements, with counts and per-row facts."""
    today = today or clock.now().date()
    by_state, by_health = _counts(actor)
    if query.state and query.state not in by_state:
        by_state[query.state] = 0  # the chosen filter stays a choice, with its count
    total = _total_from_counts(query, by_state, by_health)
    page = engagement_list.list_page(actor, query, today=today, total=total, views=True)
    _attach_readiness_parts(page.rows)
    _attach_evidence(page.rows, actor, today)
    _attach_lifecycle(page.rows, today)
    pickers = filter_pickers(actor, query)
    return Dashboard(query, page.rows, page.total, by_state, by_health, pickers)


def _total_from_counts(query: ListQuery, by_state: dict, by_health: dict) -> int | None:
    """How many engagements match, read off the badge counts when the filters allow."""
    narrowed = query.provider_id, query.owner_id, query.q, query.owner, query.provider
    if all(value is None for value in narrowed):
        if query.state is None and query.health is None and query.live_only:
            return sum(by_health.values())
        if query.health is None and query.state is not None:
            return by_state.get(query.state, 0)
    return None


def _counts(actor: User) -> tuple[dict[str, int], dict[str, int]]:
    """Engagements by state and live ones by health (the filters' badges). A viewer who
    sees every engagement reads the counts kept as engagements change (a few rows,
    whatever the organisation's size, docs/adr/0259); any other viewer's are two GROUP
    BYs over their own engagements, each over its own covering index, in one statement."""
    rule, params = visibility_rule(actor)
    if rule == "all":
        by_state, by_health = engagement_counts.counts()
    else:
        by_state, by_health = {}, {}
        for kind, value, count in db.session.execute(_counts_statement(rule), params):
            (by_state if kind == "state" else by_health)[value] = count
    # Only states that hold engagements, in lifecycle order: a deployment on one lifecycle
    # sees no "0" tiles for the states of another definition file on disk.
    ordered_states = {s: by_state[s] for s in lifecycle.known_states() if by_state.get(s)}
    ordered_states.update({s: n for s, n in by_state.items() if s not in ordered_states})
    return ordered_states, {h.value: by_health.get(h.value, 0) for h in HEALTH_ORDER}


@functools.cache
def _counts_statement(rule: str):
    """The badges' statement for one visibility rule, its user left to bind: built once,
    it keeps its compiled-SQL cache key (ADR 0257)."""
    visible = visible_clause_for(rule)
    by_state_rows = select(literal_column("'state'").label("kind"), Engagement.state, func.count())
    by_health_rows = select(
        literal_column("'health'").label("kind"), Engagement.effective_health, func.count()
    )
    return union_all(
        by_state_rows.where(visible).group_by(Engagement.state),
        by_health_rows.where(visible, Engagement.closed_at.is_(None)).group_by(
            Engagement.effective_health
        ),
    )


@functools.cache
def _providers_statement(rule: str):
    """Two providers of the engagements a visibility rule shows, if there are two: built
    once, as `_counts_statement`."""
    return select(Engagement.provider_id).where(visible_clause_for(rule)).distinct().limit(2)


def filter_pickers(actor: User, query: ListQuery) -> Pickers:
    """The pickers' text and whether the user sees more than one provider: one statement
    (two when the URL names an owner or provider by id), whatever the organisation's size.
    """
    # LIMIT 2 over the (provider_id, state) index: "more than one?" needs no list
    rule, params = visibility_rule(actor)
    providers = db.session.scalars(_providers_statement(rule), params).all()
    owner, provider = query.owner or "", query.provider or ""
    if (query.owner_id and not owner) or (query.provider_id and not provider):
        names = db.session.execute(
            select(
                select(User.name).where(User.id == query.owner_id).scalar_subquery(),
                select(ProviderOrganisation.name)
                .where(ProviderOrganisation.id == query.provider_id)
                .scalar_subquery(),
            )
        ).one()
        owner, provider = owner or names[0] or "", provider or names[1] or ""
    several = len(providers) > 1 or bool(query.provider_id or query.provider)
    return Pickers(owner=owner, provider=provider, several_providers=several)


CHOICES_PER_PAGE = 20
PICKER_KINDS = ("owner", "provider")


def picker_choices(actor: User, kind: str, text: str, page: int) -> tuple[list[str], bool]:
    """A page of names for a picker's suggestions, and whether there are more: the owners
    (or providers) of engagements the user may see whose name contains the text, by name.
    Only what the user could find by filtering: nobody else's name is suggested."""
    model, column = {
        "owner": (User, Engagement.owner_id),
        "provider": (ProviderOrganisation, Engagement.provider_id),
    }[kind]
    statement = select(model.name).where(model.id.in_(select(column).where(visible_clause(actor))))
    if text:
        pattern = engagement_list.like_pattern(text)
        statement = statement.where(func.lower(model.name).like(pattern, escape="\\"))
    names = db.session.scalars(
        statement.distinct()
        .order_by(model.name)
        .offset((page - 1) * CHOICES_PER_PAGE)
        .limit(CHOICES_PER_PAGE + 1)
    ).all()
    return list(names[:CHOICES_PER_PAGE]), len(names) > CHOICES_PER_PAGE


def _attach_evidence(rows: list[ListRow], actor: User, today: date) -> None:
    """Each row's period summary ("targets met n/m" with the milestones missed or overdue
    beside it) and its next milestone's displayed status, which a measured target can
    contradict (a fixed two queries for the page)."""

    nexts = [row.next_milestone for row in rows if row.next_milestone is not None]
    ids = [row.engagement.id for row in rows]
    summaries, judged = list_evidence(ids, (m.id for m in nexts), today)
    with_cost = can(actor, Action.VIEW_COST)
    for row in rows:
        row.period_summary = summaries.get(row.engagement.id)
        m = row.next_milestone
        if m is not None:
            evidence = as_claim_evidence(judged.get(m.id, ()), with_cost=with_cost)
            row.next_status = displayed_status(m, today, evidence)


def _attach_lifecycle(rows: list[ListRow], today: date) -> None:
    """What each row's state means, asked once a row: its State, the hold's words while
    paused, the period's progress while one runs (the lifecycle's own functions, which
    say None in any other phase)."""
    for row in rows:
        state = row.state = lifecycle.state_of(row.engagement)
        if state.phase == "paused":
            row.hold = lifecycle.hold_text(row.engagement)
        elif state.is_period:
            row.progress = lifecycle.period_progress(row.engagement, today)


def _attach_readiness_parts(rows: list[ListRow]) -> None:
    """Each row's readiness breakdown, as cached on the row with its score (read with the
    row); computed only for rows not scored since the breakdown was cached (migration
    0012 clears the scores, and the scheduler's health step re-scores them).

    The bar needs each part's figures and words, which is all the row stores (the gaps'
    sentences are judged where they are shown; the row's stored gap count says how many
    there are). Only the dashboard page draws the parts; exports and digests read the
    cached score.
    """
    # score, gaps and parts were written together, by one UPDATE
    unscored = [row.engagement.id for row in rows if row.engagement.readiness_parts is None]
    computed = readiness_many(unscored)
    for row in rows:
        e = row.engagement
        found = computed.get(e.id)
        if found is not None:
            row.readiness, row.readiness_gaps = found, len(found.gaps)
        elif e.readiness_parts is not None:
            row.readiness = parts_from_stored(e.readiness_score, e.readiness_parts)
            row.readiness_gaps = e.readiness_gaps
        if row.readiness is not None:
            row.readiness_score = row.readiness.score


def provider_choices() -> list[ProviderOrganisation]:
    return list(
        db.session.scalars(select(ProviderOrganisation).order_by(ProviderOrganisation.name))
    )
