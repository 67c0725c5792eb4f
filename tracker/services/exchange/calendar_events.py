"""The events of a calendar feed and their iCalendar text: a constant number of queries.

Sources: milestone due dates, the engagement's period end dates, pending (and past)
workflow timers such as a scheduled review, checklist items the user owns (among them
the revocation of a leaving member's access, due on their end date), shadow sign-off
targets and team members' end dates. Every event is all-day, has a UID per object, a
SEQUENCE that rises whenever its date, summary or status changes (a stored counter, see
CalendarEntry), a DTSTAMP of that change, and STATUS:CANCELLED once the item is completed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from tracker.core import clock
from tracker.extensions import db
from tracker.models import (
    CalendarEntry,
    ChecklistItem,
    Engagement,
    Milestone,
    ShadowAssignment,
    TeamMember,
    WorkflowTimer,
    label,
)
from tracker.services.core.transactions import commit_and_derive
from tracker.services.evidence import reads as evidence_reads
from tracker.services.exchange.calendar_feed import (
    FeedScope,
    owned_items_clause,
    scoped_ids,
    shadow_clause,
)
from tracker.services.workflow import lifecycle

PRODID = "-//Engagement Tracker//Calendar feed//EN"


@dataclass
class FeedItem:
    """One all-day event before it becomes iCalendar text."""

    uid: str
    day: date
    summary: str
    engagement: Engagement
    cancelled: bool = False
    category: str = "Engagement"
    sequence: int = 0
    stamp: object = None
    last_day: date | None = None  # a span of days (a hold until its expected resume)
    detail: tuple[str, ...] = ()  # lines about the item itself (a milestone's status, claim)

    @property
    def fingerprint(self) -> str:
        last = self.last_day.isoformat() if self.last_day else ""
        material = f"{self.day.isoformat()}|{last}|{self.summary}|{self.cancelled}"
        return hashlib.sha256(material.encode()).hexdigest()


def _host() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "engagement-tracker.local"


def state_label(engagement: Engagement) -> str:
    """The state's label from the engagement's own definition version."""
    return lifecycle.state_label(engagement)


def _timer_label(timer: WorkflowTimer, engagement: Engagement) -> str:
    definition = lifecycle.definition_of(engagement)
    transition = definition.find_transition(timer.from_state, timer.event) if definition else None
    return transition.label if transition else label(timer.event)


def collect_items(scope: FeedScope) -> list[FeedItem]:
    """Every event of the feed, from six queries whatever their number."""
    host = _host()
    engagements = {e.id: e for e in db.session.scalars(select(Engagement).where(scope.clause))}
    items = _engagement_dates(engagements.values(), host, scope.since)
    items += _holds(engagements.values(), host)
    items += _milestones(scope, engagements, host)
    items += _timers(scope, engagements, host)
    items += _checklist_items(scope, host)
    items += _shadow_targets(scope, host)
    items += _member_end_dates(engagements, host, scope.since)
    items.sort(key=lambda item: (item.day, item.uid))
    return items


def _since(column, scope: FeedScope, *, instant: bool = False) -> tuple:
    """The WHERE condition leaving out events before the feed's history window."""
    if scope.since is None:
        return ()
    start = datetime.combine(scope.since, time.min, tzinfo=UTC) if instant else scope.since
    return (column >= start,)


def _engagement_dates(engagements, host: str, since: date | None) -> list[FeedItem]:
    items = []
    for e in engagements:
        for column, words in (("trial_end", "trial window ends"), ("period_end", "period ends")):
            day = getattr(e, column)
            if (
                day is None
                or (since and day < since)
                or (column == "trial_end" and e.period_end == day)
            ):
                continue
            items.append(
                FeedItem(
                    uid=f"engagement-{e.id}-{column.replace('_', '-')}@{host}",
                    day=day,
                    summary=f"{e.title}: {words}",
                    engagement=e,
                    cancelled=e.is_closed,
                    category="Period end",
                )
            )
    return items


def _holds(engagements, host: str) -> list[FeedItem]:
    """An engagement on hold: one event from the day it paused to its expected resume
    (the day it paused alone when no resume date was given). Its UID is the
    engagement's, so a hold's new expected date is the same event with a higher
    SEQUENCE; after the resume the event leaves the feed."""
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    items = []
    for e in engagements:
        text = lifecycle.hold_text(e)
        if text is None:
            continue
        start = (e.paused_at or clock.now()).astimezone(zone).date()
        until = e.expected_resume
        summary = f"{e.title}: on hold" + (f" ({e.pause_reason})" if e.pause_reason else "")
        items.append(
            FeedItem(
                uid=f"engagement-{e.id}-hold@{host}",
                day=start,
                last_day=until - timedelta(days=1) if until and until > start else None,
                summary=summary,
                engagement=e,
                category="On hold",
            )
        )
    return items


def _milestones(scope: FeedScope, engagements: dict, host: str) -> list[FeedItem]:
    """Each milestone on its due date; past it without a verdict the summary says so."""
    rows = db.session.scalars(
        select(Milestone).where(
            Milestone.engagement_id.in_(scoped_ids(scope)), *_since(Milestone.due_date, scope)
        )
    )
    today = clock.now().date()
    milestones = list(rows)
    # weighed against the judged targets, as every page does (one query for the feed)
    statuses = evidence_reads.displayed_many(milestones, scope.user, today)
    items = []
    for m in milestones:
        shown = statuses[m.id]
        when = shown.label.lower() if shown.is_overdue else "due"
        items.append(
            FeedItem(
                uid=f"milestone-{m.id}@{host}",
                day=m.due_date,
                summary=f"{engagements[m.engagement_id].title}: milestone '{m.title}' {when}",
                engagement=engagements[m.engagement_id],
                cancelled=m.is_final,
                category="Milestone",
                detail=(
                    f"Milestone: {shown.label}",
                    *([shown.claim] if shown.claim else []),
                    *(f"Measured: {c}" for c in shown.contradictions),
                ),
            )
        )
    return items


def _timers(scope: FeedScope, engagements: dict, host: str) -> list[FeedItem]:
    """Scheduled transitions (a review at the period's end); a cancelled one is CANCELLED."""
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    rows = db.session.scalars(
        select(WorkflowTimer).where(
            WorkflowTimer.engagement_id.in_(scoped_ids(scope)),
            *_since(WorkflowTimer.due_at, scope, instant=True),
        )
    )
    items = []
    for timer in rows:
        engagement = engagements[timer.engagement_id]
        items.append(
            FeedItem(
                uid=f"timer-{timer.id}@{host}",
                day=timer.due_at.astimezone(zone).date(),
                summary=f"{engagement.title}: {_timer_label(timer, engagement)} (scheduled)",
                engagement=engagement,
                cancelled=timer.status == "cancelled",
                category="Review",
            )
        )
    return items


def _checklist_items(scope: FeedScope, host: str) -> list[FeedItem]:
    rows = db.session.scalars(
        select(ChecklistItem)
        .options(joinedload(ChecklistItem.engagement))
        .where(owned_items_clause(scope), *_since(ChecklistItem.due_date, scope))
    )
    return [
        FeedItem(
            uid=f"checklist-{item.id}@{host}",
            day=item.due_date,
            summary=f"{item.engagement.title}: {item.title}",
            engagement=item.engagement,
            cancelled=item.is_complete,
            category="Checklist",
        )
        for item in rows
    ]


def _shadow_targets(scope: FeedScope, host: str) -> list[FeedItem]:
    """Sign-off targets of shadow assignments in scope, or where the user is the shadow."""
    rows = db.session.scalars(
        select(ShadowAssignment)
        .options(joinedload(ShadowAssignment.engagement), joinedload(ShadowAssignment.member))
        .where(shadow_clause(scope), *_since(ShadowAssignment.end_date, scope))
    )
    return [
        FeedItem(
            uid=f"shadow-{a.id}@{host}",
            day=a.end_date,
            summary=f"{a.engagement.title}: shadow sign-off for {a.member.name}",
            engagement=a.engagement,
            cancelled=a.signed_off_at is not None,
            category="Shadow sign-off",
        )
        for a in rows
    ]


def _member_end_dates(engagements: dict, host: str, since: date | None) -> list[FeedItem]:
    """The last day of each team member with an end date, on engagements in scope."""
    if not engagements:
        return []
    rows = db.session.scalars(
        select(TeamMember).where(
            TeamMember.engagement_id.in_(list(engagements)),
            TeamMember.end_date.is_not(None),
            *((TeamMember.end_date >= since,) if since else ()),
        )
    )
    return [
        FeedItem(
            uid=f"member-{m.id}-end@{host}",
            day=m.end_date,
            summary=f"{engagements[m.engagement_id].title}: {m.name}'s last day",
            engagement=engagements[m.engagement_id],
            cancelled=engagements[m.engagement_id].is_closed,
            category="Team",
        )
        for m in rows
    ]


def _sync_entries(items: list[FeedItem]) -> None:
    if not items:
        return
    now = clock.now()
    stored = {
        row.uid: row
        for row in db.session.execute(
            select(CalendarEntry.id, CalendarEntry.uid, CalendarEntry.fingerprint,
                   CalendarEntry.sequence, CalendarEntry.changed_at)
            .where(CalendarEntry.uid.in_([item.uid for item in items]))
        )
    }  # fmt: skip
    new, changed = [], []
    for item in items:
        row = stored.get(item.uid)
        if row is None:
            item.sequence, item.stamp = 0, now
            new.append({"uid": item.uid, "fingerprint": item.fingerprint, "sequence": 0,
                        "changed_at": now})  # fmt: skip
        elif row.fingerprint != item.fingerprint:
            item.sequence, item.stamp = row.sequence + 1, now
            changed.append({"row_id": row.id, "fp": item.fingerprint, "seq": row.sequence + 1})
        else:
            item.sequence, item.stamp = row.sequence, row.changed_at
    if new:
        db.session.execute(insert(CalendarEntry), new)
    if changed:
        _bump(changed, now)


def _bump(changed: list[dict], now) -> None:
    table = CalendarEntry.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.sequence == bindparam("seq") - 1)
        .values(fingerprint=bindparam("fp"), sequence=bindparam("seq"), changed_at=now)
    )
    db.session.execute(statement, changed, execution_options={"synchronize_session": False})


def _description(item: FeedItem) -> str:
    """State, health with its reasons, and the link back; never cost figures."""
    e = item.engagement
    lines = [*item.detail, f"Status: {state_label(e)}", f"Health: {e.effective_health}"]
    held = lifecycle.hold_text(e)
    if held:
        lines.insert(1, held)
    lines += [f"- {reason.get('message', '')}" for reason in (e.health_reasons or [])]
    lines.append(engagement_link(e))
    return "\n".join(lines)


def engagement_link(engagement: Engagement) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/engagements/{engagement.id}"


def to_ical(items: list[FeedItem], name: str) -> bytes:
    """The VCALENDAR text (CRLF line ends and 75-octet folding come from `icalendar`).

    Each event is serialised on its own and joined: holding one icalendar component tree
    for tens of thousands of events took half a gigabyte.
    """
    from icalendar import Calendar  # only feeds need it: a worker serving none never loads it

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    head = calendar.to_ical()
    end = b"END:VCALENDAR\r\n"
    if not head.endswith(end):  # icalendar always closes the calendar this way
        raise RuntimeError("unexpected VCALENDAR framing")
    return b"".join([head[: -len(end)], *(_event(item).to_ical() for item in items), end])


def _event(item: FeedItem):
    from icalendar import Event

    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", item.stamp)
    event.add("dtstart", item.day)
    event.add("dtend", (item.last_day or item.day) + timedelta(days=1))  # exclusive
    event.add("summary", item.summary)
    event.add("description", _description(item))
    event.add("url", engagement_link(item.engagement))
    event.add("categories", [item.category])
    event.add("sequence", item.sequence)
    event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    return event


def render_feed(scope: FeedScope, name: str) -> bytes:
    """Collect, sequence and serialise one feed, then commit the new or bumped counters.

    Serialised before the commit (which expires every loaded row: reading them afterwards
    would cost one query per engagement). Losing an insert race to another request for an
    overlapping feed starts again; SEQUENCE stays monotone either way.
    """
    for _attempt in range(3):
        items = collect_items(scope)
        try:
            _sync_entries(items)
            body = to_ical(items, name)
            commit_and_derive()
            return body
        except IntegrityError:
            db.session.rollback()
    raise RuntimeError("calendar entries kept changing under this request")
