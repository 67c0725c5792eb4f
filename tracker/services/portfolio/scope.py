"""Which engagements the record and the portfolio count, and who may open a record.

Both count only what the viewer may see (`visible_clause`, as every list does), so a
stakeholder's portfolio is the engagements they follow. A provider user may open only
their own organisation's record; any other answers exactly like a missing one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.sql.elements import True_

from tracker.auth.permissions import Action, require, visible_clause
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.models import Engagement, ProviderOrganisation, Role, User
from tracker.services.read_model import engagement_list
from tracker.services.read_model.engagement_list import ListQuery

MISSING_PROVIDER = "Provider not found."


def provider_for_record(actor: User, provider_id: int) -> ProviderOrganisation:
    """The organisation whose record the actor asks for, or NotFound (same answer for a
    provider user asking about another organisation as for an id that does not exist)."""
    require(actor, Action.VIEW)
    if actor.role == Role.PROVIDER and actor.provider_id != provider_id:
        raise NotFound(MISSING_PROVIDER)
    provider = db.session.get(ProviderOrganisation, provider_id)
    if provider is None:
        raise NotFound(MISSING_PROVIDER)
    return provider


def require_portfolio_viewer(actor: User) -> None:
    """The portfolio is the client's view: providers get a 404, like a page that is not."""
    require(actor, Action.VIEW)
    if actor.role == Role.PROVIDER:
        raise NotFound("Page not found.")


def engagement_ids(actor: User, query: ListQuery):
    """A subquery of the ids of engagements the actor may see that the filters select."""
    return select(Engagement.id).where(*engagement_list.clauses(actor, query))


def sees_everything(actor: User, query: ListQuery) -> bool:
    """The actor may see every engagement and no filter narrows them: the figures may then
    count whole tables (their indexes) without asking which engagements are selected."""
    return all(isinstance(clause, True_) for clause in engagement_list.clauses(actor, query))


def provider_engagements(actor: User, provider_id: int):
    """A subquery of the ids of the provider's engagements the actor may see."""
    return select(Engagement.id).where(visible_clause(actor), Engagement.provider_id == provider_id)


def parse_filters(args) -> ListQuery:
    """The dashboard's filters (provider, owner, state) from URL parameters: the one parser,
    without the list's paging; a bad value raises ValidationFailed naming the field."""
    return engagement_list.parse_args(args)


def filter_choices(actor: User, query: ListQuery) -> dict:
    """The dashboard's filter choices: states with engagements, and the provider and owner
    pickers (their text, not a list of every name: two or three statements)."""
    from tracker.services.read_model.dashboard import _counts, filter_pickers  # the dashboard's

    by_state, _ = _counts(actor)
    return {"states": list(by_state), "pickers": filter_pickers(actor, query)}
