"""Architecture decision records: numbering, drafts, decisions, supersede links, history.

Numbers are sequential per engagement. Two people creating an ADR at the same
moment compute the same next number; the unique (engagement_id, number)
constraint refuses the loser, who retries the whole transaction with a fresh
number. Superseding is applied when the superseding ADR is accepted, and the
old ADR's status changes in that same transaction (its version column makes a
concurrent second superseder fail instead of silently winning too).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from markupsafe import Markup
from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from tracker.auth.permissions import Action, get_visible_engagement, require, visible_clause
from tracker.core import clock
from tracker.errors import (
    Conflict,
    Forbidden,
    NotFound,
    StaleVersion,
    TrackerError,
    ValidationFailed,
)
from tracker.extensions import db
from tracker.models import Adr, AdrRevision, Engagement, User
from tracker.services.core import audit
from tracker.services.core.transactions import check_version, commit_and_derive

STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
TEXT_FIELDS = ("title", "decided_on", "deciders", "context", "decision", "consequences")
# status -> statuses a decision may move it to
DECISIONS = {"proposed": ("accepted", "rejected"), "accepted": ("deprecated",)}
MAX_ATTEMPTS = 10
SAFE_URL_SCHEMES = {"http", "https", "mailto"}

T = TypeVar("T")


def list_adrs(actor: User, engagement_id: int) -> list[Adr]:
    """The engagement's ADRs in number order, with authors and supersede links."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return engagement_adrs(engagement.id)


def engagement_adrs(engagement_id: int) -> list[Adr]:
    """`list_adrs` without the visibility check, for callers that made it (the page):
    one statement, the authors joined and the supersede links both ways linked from the
    rows themselves."""
    found = list(db.session.scalars(_OF_ENGAGEMENT, {"engagement_id": engagement_id}))
    _link_supersessions(found)
    return found


# Built once, the engagement a bound parameter: it keeps its cache key (issue 29, ADR 0258).
_OF_ENGAGEMENT = (
    select(Adr)
    .where(Adr.engagement_id == bindparam("engagement_id"))
    .options(joinedload(Adr.author))
    .order_by(Adr.number)
)


def _link_supersessions(found: list[Adr]) -> None:
    """Each ADR's `supersedes` and `superseded_by` from the engagement's own ADRs: an ADR
    supersedes only one of its own engagement (`_supersede_target`), so every link of the
    list is in it. Loading `superseded_by` separately was a second statement over an
    unindexed column (a scan of every engagement's ADRs: ~20 ms at 10,000 engagements on
    SQLite). Links an ADR already has loaded in this session are left as they are."""
    by_id = {adr.id: adr for adr in found}
    newer: dict[int, list[Adr]] = {adr.id: [] for adr in found}
    for adr in found:
        if adr.supersedes_id in newer:
            newer[adr.supersedes_id].append(adr)  # in number order, as the list is
    for adr in found:
        loaded = inspect(adr).dict
        if "superseded_by" not in loaded:
            set_committed_value(adr, "superseded_by", newer[adr.id])
        older = by_id.get(adr.supersedes_id) if adr.supersedes_id is not None else None
        if "supersedes" not in loaded and (older is not None or adr.supersedes_id is None):
            set_committed_value(adr, "supersedes", older)


def get_adr(actor: User, adr_id: int) -> Adr:
    """One ADR the actor may see (an invisible engagement's ADR does not exist)."""
    adr = db.session.scalar(
        select(Adr)
        .join(Engagement, Engagement.id == Adr.engagement_id)
        .where(Adr.id == adr_id, visible_clause(actor))
        .options(joinedload(Adr.author), joinedload(Adr.supersedes))
    )
    if adr is None:
        raise NotFound("ADR not found.")
    return adr


def history(actor: User, adr_id: int) -> list[AdrRevision]:
    """Every revision of the ADR, oldest first."""
    return revisions_of(get_adr(actor, adr_id))


def revisions_of(adr: Adr) -> list[AdrRevision]:
    """The revisions of an ADR already checked as visible, with their authors (one query)."""
    return list(
        db.session.scalars(
            select(AdrRevision)
            .where(AdrRevision.adr_id == adr.id)
            .options(joinedload(AdrRevision.author))
            .order_by(AdrRevision.id)
        )
    )


def create_adr(actor: User, engagement_id: int, data: dict, *, today: date | None = None) -> Adr:
    """Propose an ADR (managers may create it accepted); the next free number is taken."""

    def attempt() -> Adr:
        engagement = get_visible_engagement(db.session, actor, engagement_id)
        require(actor, Action.WRITE_ADR, engagement)
        status = data.get("status") or "proposed"
        if status not in ("proposed", "accepted"):
            raise ValidationFailed(
                "A new ADR is proposed or accepted.",
                errors={"status": ["Must be proposed or accepted."]},
            )
        if status == "accepted":
            require(actor, Action.DECIDE_ADR, engagement)
        adr = Adr(
            engagement_id=engagement.id,
            number=next_number(engagement.id),
            status="proposed",
            author_id=actor.id,
            decided_on=data.get("decided_on") or today or clock.now().date(),
            **{k: data[k] for k in TEXT_FIELDS if k in data and k != "decided_on"},
        )
        adr.supersedes = _supersede_target(engagement, data.get("supersedes_id"))
        db.session.add(adr)
        db.session.flush()
        record_revision(adr, actor, "created")
        if status == "accepted":
            _apply_decision(adr, actor, "accepted")
        audit.record(engagement, actor, "adr_created", data={"adr": adr.number})
        return adr

    return _in_retrying_transaction(attempt)


def next_number(engagement_id: int) -> int:
    """One more than the highest number in the engagement (1 for the first)."""
    highest = db.session.scalar(
        select(func.coalesce(func.max(Adr.number), 0)).where(Adr.engagement_id == engagement_id)
    )
    return int(highest) + 1


def update_adr(actor: User, adr_id: int, data: dict, *, expected_version: int | None = None) -> Adr:
    """Edit an ADR's text; providers only their own drafts, decided ADRs only by managers."""
    adr = get_adr(actor, adr_id)
    _require_edit(actor, adr)
    check_version(adr, expected_version, "this ADR")
    relink = "supersedes_id" in data and data["supersedes_id"] != adr.supersedes_id
    if relink:
        target = _relink_target(adr, data["supersedes_id"])
    changed = [f for f in TEXT_FIELDS if f in data and getattr(adr, f) != data[f]]
    for field in changed:
        setattr(adr, field, data[field])
    if relink:
        adr.supersedes = target
    if changed or relink:
        record_revision(adr, actor, "edited")
        _commit()
    return adr


def decide_adr(
    actor: User, adr_id: int, status: str, *, note: str = "", expected_version: int | None = None
) -> Adr:
    """Accept or reject a proposed ADR, or deprecate an accepted one (managers)."""

    def attempt() -> Adr:
        adr = get_adr(actor, adr_id)
        require(actor, Action.DECIDE_ADR, adr.engagement)
        check_version(adr, expected_version, "this ADR")
        if status not in DECISIONS.get(adr.status, ()):
            allowed = ", ".join(DECISIONS.get(adr.status, ())) or "nothing"
            raise Conflict(
                f"ADR {adr.number} is {adr.status}; it can become {allowed}.",
                errors={"status": [f"Cannot go from {adr.status} to {status}."]},
            )
        _apply_decision(adr, actor, status, note=note)
        return adr

    return _in_retrying_transaction(attempt)


def _apply_decision(adr: Adr, actor: User, status: str, *, note: str = "") -> None:
    """Change status, supersede the old ADR when accepting, record revisions and audit."""
    adr.status = status
    if status == "accepted" and adr.supersedes is not None:
        old = adr.supersedes
        if old.status != "accepted":
            raise Conflict(
                f"ADR {old.number} is {old.status}; only an accepted ADR can be superseded.",
                errors={"supersedes_id": [f"ADR {old.number} is {old.status}."]},
            )
        old.status = "superseded"
        record_revision(old, actor, "superseded", note=f"superseded by ADR {adr.number}")
    db.session.flush()
    record_revision(adr, actor, status, note=note)
    audit.record(
        adr.engagement, actor, f"adr_{status}", reason=note or None, data={"adr": adr.number}
    )


def _relink_target(adr: Adr, target_id: int | None) -> Adr | None:
    if adr.status != "proposed":
        raise Conflict(
            "Only a proposed ADR can change what it supersedes.",
            errors={"supersedes_id": ["The ADR is already decided."]},
        )
    return _supersede_target(adr.engagement, target_id, adr)


def _supersede_target(engagement: Engagement, target_id: int | None, adr: Adr | None = None):
    """The ADR to supersede: same engagement, accepted, not the ADR itself."""
    if target_id is None:
        return None
    target = db.session.get(Adr, target_id)
    problem = None
    if target is None or target.engagement_id != engagement.id:
        problem = "No such ADR in this engagement."
    elif adr is not None and target.id == adr.id:
        problem = "An ADR cannot supersede itself."
    elif target.status != "accepted":
        problem = f"ADR {target.number} is {target.status}; only an accepted ADR can be superseded."
    if problem:
        raise ValidationFailed("The ADR could not be saved.", errors={"supersedes_id": [problem]})
    return target


def _require_edit(actor: User, adr: Adr) -> None:
    require(actor, Action.WRITE_ADR, adr.engagement)
    if actor.is_client_side:
        return
    if adr.author_id != actor.id or adr.status != "proposed":
        raise Forbidden("Providers may edit only their own proposed ADRs.")


def snapshot(adr: Adr) -> dict:
    """The ADR's content as plain JSON (what a revision stores)."""
    return {
        "number": adr.number,
        "title": adr.title,
        "status": adr.status,
        "decided_on": adr.decided_on.isoformat(),
        "deciders": adr.deciders,
        "context": adr.context,
        "decision": adr.decision,
        "consequences": adr.consequences,
        "supersedes_id": adr.supersedes.id if adr.supersedes is not None else None,
    }


@functools.cache
def _markdown():
    """The renderer, built at its first use: markdown-it and nh3 cost every web worker
    ~3 MB of start-up memory, before the sign-in whose Argon2 64 MiB is the worker's
    peak (issue 29); only pages with an ADR on them render markdown.
    "commonmark" with html off: raw HTML in the source is shown as text, never passed
    through."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML escaped and the result sanitised (no script survives)."""
    import nh3  # with markdown-it: left for the first render (see _markdown)

    html = _markdown().render(text or "")
    return Markup(nh3.clean(html, url_schemes=SAFE_URL_SCHEMES, link_rel="noopener noreferrer"))


def record_revision(adr: Adr, actor: User | None, change: str, *, note: str = "") -> None:
    data = snapshot(adr)
    if note:
        data["note"] = note
    adr.revisions.append(
        AdrRevision(author_id=actor.id if actor else None, change=change, snapshot=data)
    )


def _commit() -> None:
    try:
        commit_and_derive(retry_races=True)
    except StaleDataError as exc:
        db.session.rollback()
        raise StaleVersion("Someone else changed this ADR at the same time; reload.") from exc


def _in_retrying_transaction(attempt: Callable[[], T]) -> T:
    """Run and commit; a lost number race or a concurrent change reruns it from the start."""
    for tries in range(1, MAX_ATTEMPTS + 1):
        try:
            result = attempt()
            commit_and_derive(retry_races=True)
            return result
        except TrackerError:
            db.session.rollback()
            raise
        except (IntegrityError, StaleDataError) as exc:
            db.session.rollback()
            if tries == MAX_ATTEMPTS:
                raise Conflict("Too many concurrent changes; please try again.") from exc
    raise AssertionError("unreachable")
