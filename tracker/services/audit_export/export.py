"""Audit export for the deployment (admins): every audit event, oldest first.

One SELECT per export, read `BATCH` rows at a time (`yield_per`: a server-side cursor on
PostgreSQL, SQLite's own step-by-step cursor), turned into text chunk by chunk: ten
million rows never sit in memory, and the statement count does not grow with them.
CSV cells go through csv_export.safe_cell, so text a spreadsheet would run as a formula
starts with an apostrophe, as in every other CSV export; JSON Lines carries the values
as they are (one object per line, RFC 8259 JSON, UTF-8).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from tracker.errors import NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import AuditEvent, Engagement, ProviderOrganisation, User
from tracker.services.core.people import people_page, picked_address
from tracker.services.exchange.csv_export import stream_csv

BATCH = 1000
KIND_MAX = 40
NOT_FOUND = "Not found."
COLUMNS = (
    "id", "at", "kind", "actor id", "actor", "engagement id", "engagement", "provider id",
    "provider", "event", "from state", "to state", "reason", "workflow version", "data",
)  # fmt: skip
JSON_KEYS = tuple(c.replace(" ", "_") for c in COLUMNS)


@dataclass(frozen=True)
class AuditFilter:
    """Which events: days `since`..`until` (inclusive, UTC), an actor, an engagement,
    a provider organisation (its engagements' events and its people's own), kinds."""

    since: date | None = None
    until: date | None = None
    actor_id: int | None = None
    engagement_id: int | None = None
    provider_id: int | None = None
    kinds: tuple[str, ...] = ()


def require_exporter(actor: User) -> None:
    """Admins and auditors; to anyone else the export does not exist (404, like the admin
    pages)."""
    if not actor.can_export_audit:
        raise NotFound(NOT_FOUND)


def actor_suggestions(actor: User, text: str, page: int) -> tuple[list[str], bool]:
    """A page of everyone who can appear as an actor, whose name or address contains the
    text, as "Name <email>" by name, and whether there are more: the actor picker's
    suggestions (issue 29), not a list of every user on the page."""
    require_exporter(actor)
    return people_page(select(User.name, User.email), text, page)


def actor_id_text(actor: User, text: str) -> str:
    """The actor picker's text as `parse_filter` reads `actor_id`: an id stays as it is
    (as scripts send it); "Name <email>" or an address becomes that user's id; anything
    else is kept, for `parse_filter` to refuse it naming the field."""
    require_exporter(actor)
    text = (text or "").strip()
    if not text or text.isdigit():
        return text
    address = picked_address(text) or text.lower()
    user_id = db.session.scalar(select(User.id).where(func.lower(User.email) == address))
    return str(user_id) if user_id is not None else text


def organisations(actor: User) -> list[ProviderOrganisation]:
    """Every provider organisation, by name (one query): the page's choices."""
    require_exporter(actor)
    query = select(ProviderOrganisation).order_by(ProviderOrganisation.name)
    return list(db.session.scalars(query))


def kinds_in_use(actor: User) -> list[str]:
    """Every kind the trail holds, sorted (one query): the page's choices."""
    require_exporter(actor)
    return list(db.session.scalars(select(AuditEvent.kind).distinct().order_by(AuditEvent.kind)))


def parse_filter(args: Mapping) -> AuditFilter:
    """The filter from query arguments (text or already typed); ValidationFailed naming
    each bad field, so a page and the API refuse the same input the same way."""
    errors: dict[str, list[str]] = {}
    since = _day(args.get("since"), "since", errors)
    until = _day(args.get("until"), "until", errors)
    if since and until and since > until:
        errors["until"] = ["The end date is before the start date."]
    ids = {f: _id(args.get(f), f, errors) for f in ("actor_id", "engagement_id", "provider_id")}
    kinds = args.getlist("kind") if hasattr(args, "getlist") else args.get("kind") or []
    kinds = tuple(k.strip() for k in ([kinds] if isinstance(kinds, str) else kinds) if k.strip())
    if any(len(k) > KIND_MAX for k in kinds):
        errors["kind"] = [f"A kind is at most {KIND_MAX} characters."]
    if errors:
        raise ValidationFailed("The audit export filters are not valid.", errors=errors)
    return AuditFilter(since=since, until=until, kinds=kinds, **ids)


def _day(value, field: str, errors: dict) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[field] = ["Use a date as YYYY-MM-DD."]
        return None


def _id(value, field: str, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        number = int(value)
        if 1 <= number <= 2**31 - 1:
            return number
    errors[field] = ["Use a positive whole number."]
    return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def query(flt: AuditFilter) -> Select:
    """The export's one SELECT: plain columns (no ORM objects kept), oldest first."""
    actor = aliased(User)
    stmt = (
        select(
            AuditEvent.id,
            AuditEvent.created_at,
            AuditEvent.kind,
            AuditEvent.actor_id,
            AuditEvent.actor_label,
            AuditEvent.engagement_id,
            Engagement.title,
            ProviderOrganisation.id,
            ProviderOrganisation.name,
            AuditEvent.event,
            AuditEvent.from_state,
            AuditEvent.to_state,
            AuditEvent.reason,
            AuditEvent.workflow_version,
            AuditEvent.data,
        )
        .select_from(AuditEvent)
        .outerjoin(Engagement, Engagement.id == AuditEvent.engagement_id)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(
            ProviderOrganisation,
            ProviderOrganisation.id == func.coalesce(Engagement.provider_id, actor.provider_id),
        )
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
    if flt.since:
        stmt = stmt.where(AuditEvent.created_at >= _start_of(flt.since))
    if flt.until:
        stmt = stmt.where(AuditEvent.created_at < _start_of(flt.until + timedelta(days=1)))
    if flt.actor_id:
        stmt = stmt.where(AuditEvent.actor_id == flt.actor_id)
    if flt.engagement_id:
        stmt = stmt.where(AuditEvent.engagement_id == flt.engagement_id)
    if flt.provider_id:
        stmt = stmt.where(
            or_(
                Engagement.provider_id == flt.provider_id,
                and_(AuditEvent.engagement_id.is_(None), actor.provider_id == flt.provider_id),
            )
        )
    if flt.kinds:
        stmt = stmt.where(AuditEvent.kind.in_(flt.kinds))
    return stmt


def rows(actor: User, flt: AuditFilter, batch: int = BATCH) -> Iterator[tuple]:
    """Every matching event as a tuple in COLUMNS order, fetched `batch` rows at a time."""
    require_exporter(actor)
    result = db.session.execute(query(flt).execution_options(yield_per=batch))
    for partition in result.partitions():
        for row in partition:
            yield tuple(row)


def export_csv(actor: User, flt: AuditFilter, batch: int = BATCH) -> Iterator[str]:
    """The export as CSV text chunks (BOM, header, CRLF; formulas neutralised)."""
    require_exporter(actor)
    return stream_csv(COLUMNS, (_csv_row(r) for r in rows(actor, flt, batch)))


def _csv_row(row: tuple) -> list:
    *head, data = row
    return [*head, json.dumps(data or {}, ensure_ascii=False, sort_keys=True)]


def export_jsonl(actor: User, flt: AuditFilter, batch: int = BATCH) -> Iterator[str]:
    """The export as JSON Lines: one object per event, chunks of `batch` lines."""
    require_exporter(actor)
    return _jsonl_chunks(rows(actor, flt, batch), batch)


def _jsonl_chunks(source: Iterable[tuple], size: int) -> Iterator[str]:
    lines: list[str] = []
    for row in source:
        record = dict(zip(JSON_KEYS, row, strict=True))
        record["at"] = record["at"].isoformat()
        record["data"] = record["data"] or {}
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")
        if len(lines) >= size:
            yield "".join(lines)
            lines.clear()
    if lines:
        yield "".join(lines)
