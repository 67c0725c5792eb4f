"""CSV exports for spreadsheets: engagement lists, milestones with history, checklists, audit.

RFC 4180 (the csv module, CRLF line ends, quoting where needed), UTF-8 with a byte-order
mark so Excel reads non-ASCII names, a header row, and every text cell that a
spreadsheet would run as a formula (starting with = + - @ tab or CR, as OWASP lists)
prefixed with an apostrophe. Lists are generated batch by batch: 10,000 engagements never
sit in memory at once and cost the same few queries per batch (docs/adr/0091).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker.auth.permissions import Action, can, get_visible_engagement
from tracker.extensions import db
from tracker.models import AuditEvent, ChecklistItem, Milestone, MilestoneUpdate, User, label
from tracker.services.delivery.checklists import audience_items
from tracker.services.exchange.calendar_events import engagement_link, state_label
from tracker.services.read_model import engagement_list
from tracker.services.read_model.engagement_list import ListQuery, ListRow
from tracker.services.workflow import lifecycle

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500

ENGAGEMENT_COLUMNS = (
    "id", "title", "state", "health", "health reasons", "provider", "owner", "structure",
    "period", "period day", "period days", "next milestone", "next milestone due",
    "overdue items", "readiness score", "readiness gaps", "discovery start", "trial start",
    "trial end", "period start", "period end", "closed at", "updated at", "link",
)  # fmt: skip
COST_COLUMNS = ("monthly cost", "currency")


def safe_cell(value) -> str | int | float:
    """A value as a cell: dates in ISO form, formula-looking text neutralised with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def stream_csv(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The BOM and header, then the rows in chunks of text (RFC 4180, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    yield BOM + _drain(buffer)
    for count, row in enumerate(rows, 1):
        writer.writerow([safe_cell(v) for v in row])
        if count % 200 == 0:
            yield _drain(buffer)
    rest = _drain(buffer)
    if rest:
        yield rest


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def engagement_header(actor: User) -> tuple[str, ...]:
    return ENGAGEMENT_COLUMNS + (COST_COLUMNS if can(actor, Action.VIEW_COST) else ())


def _engagement_row(row: ListRow, today: date, with_cost: bool) -> list:
    e = row.engagement
    progress = lifecycle.period_progress(e, today)
    reasons = "; ".join(r.get("message", "") for r in (e.health_reasons or []))
    next_milestone = row.next_milestone
    cells = [
        e.id, e.title, state_label(e), row.health, reasons, e.provider.name, e.owner.name,
        label(e.structure), progress[0] if progress else "", progress[1] if progress else "",
        progress[2] if progress else "", next_milestone.title if next_milestone else "",
        next_milestone.due_date if next_milestone else "", row.overdue, row.readiness_score,
        row.readiness_gaps, e.discovery_start, e.trial_start, e.trial_end, e.period_start,
        e.period_end, e.closed_at, e.updated_at, engagement_link(e),
    ]  # fmt: skip
    if with_cost:
        cells += [float(e.monthly_cost) if e.monthly_cost is not None else "", e.currency]
    return cells


def engagements_csv(actor: User, query: ListQuery, today: date) -> Iterator[str]:
    """Every engagement a list's filters and sort select (the dashboard's or the API's), as CSV."""
    with_cost = can(actor, Action.VIEW_COST)

    def rows():
        for batch in engagement_list.rows_in_batches(actor, query, today=today, batch=BATCH):
            for row in batch:
                yield _engagement_row(row, today, with_cost)

    return stream_csv(engagement_header(actor), rows())


MILESTONE_COLUMNS = (
    "milestone id", "period", "title", "due date", "status", "success criteria",
    "update at", "update by", "from status", "to status", "note", "evidence",
)  # fmt: skip


def milestones_csv(actor: User, engagement_id: int) -> Iterator[str]:
    """One row per status update (newest first per milestone); a milestone never updated has one."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    milestones = db.session.scalars(
        select(Milestone)
        .where(Milestone.engagement_id == engagement.id)
        .options(selectinload(Milestone.updates).joinedload(MilestoneUpdate.author))
        .order_by(Milestone.due_date, Milestone.id)
    ).all()

    def rows():
        for m in milestones:
            base = [m.id, m.period, m.title, m.due_date, label(m.status), m.success_criteria]
            if not m.updates:
                yield base + [""] * 6
            for u in m.updates:
                author = u.author.name if u.author else ""
                status_from = label(u.from_status) if u.from_status else ""
                evidence = " ".join(str(link) for link in (u.evidence or []))
                yield base + [u.created_at, author, status_from, label(u.status), u.note, evidence]

    return stream_csv(MILESTONE_COLUMNS, rows())


CHECKLIST_COLUMNS = (
    "item id", "checklist", "title", "owner", "due date", "status", "note", "completed by",
    "completed at",
)  # fmt: skip


def checklist_csv(actor: User, engagement_id: int) -> Iterator[str]:
    """Every checklist item of the engagement the actor may see, by checklist and position."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    items = db.session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.engagement_id == engagement.id, audience_items(actor, engagement))
        .options(selectinload(ChecklistItem.owner), selectinload(ChecklistItem.completed_by))
        .order_by(ChecklistItem.kind, ChecklistItem.position, ChecklistItem.id)
    ).all()
    rows = (
        [
            i.id, label(i.kind), i.title, i.owner.name if i.owner else "", i.due_date,
            label(i.status), i.note, i.completed_by.name if i.completed_by else "",
            i.completed_at,
        ]
        for i in items
    )  # fmt: skip
    return stream_csv(CHECKLIST_COLUMNS, rows)


AUDIT_COLUMNS = ("at", "actor", "kind", "event", "from state", "to state", "reason")


def audit_csv(actor: User, engagement_id: int) -> Iterator[str]:
    """The audit trail, oldest first; the change details stay with those who may see cost."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    with_details = can(actor, Action.VIEW_COST, engagement)
    header = AUDIT_COLUMNS + (("details",) if with_details else ())

    def rows():
        query = (
            select(AuditEvent)
            .where(AuditEvent.engagement_id == engagement.id)
            .order_by(AuditEvent.created_at, AuditEvent.id)
            .execution_options(yield_per=BATCH)
        )
        for a in db.session.scalars(query):
            cells = [a.created_at, a.actor_label, a.kind, a.event, a.from_state, a.to_state,
                     a.reason]  # fmt: skip
            yield cells + ([_details(a.data)] if with_details else [])

    return stream_csv(header, rows())


def _details(data) -> str:
    return json.dumps(data or {}, ensure_ascii=False, sort_keys=True, default=str)
