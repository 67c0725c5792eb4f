"""The exit confirmations: IP assigned, data returned or deleted, repositories and artifacts moved.

One row per engagement, written by client-side editors. Each part records who
confirmed it (the person whose change set it) beside the date and link, so a page can
show it as that person's claim with its date. A PUT sends the whole record; a stale
version is refused (412), a lost race is a 409.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import Conflict, StaleVersion, ValidationFailed
from tracker.extensions import db
from tracker.models import DataDisposition, ExitConfirmation, User
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.delivery import checklists
from tracker.services.handover.links import local_today
from tracker.services.handover.links import url_problem as _url_problem

FIELDS = (
    "ip_assignment_confirmed_on",
    "ip_document_url",
    "data_disposition",
    "data_certificate_url",
    "artifacts_transferred_to",
)
URL_FIELDS = ("ip_document_url", "data_certificate_url")
TEXT_FIELDS = (*URL_FIELDS, "artifacts_transferred_to")
DISPOSITIONS = tuple(d.value for d in DataDisposition)
# Which person column a part's change stamps.
_PART_OF = {
    "ip_assignment_confirmed_on": "ip",
    "ip_document_url": "ip",
    "data_disposition": "data",
    "data_certificate_url": "data",
    "artifacts_transferred_to": "artifacts",
}


# Built once, the engagement a bound parameter: it keeps its cache key (issue 29, ADR 0258).
_OF_ENGAGEMENT = select(ExitConfirmation).where(
    ExitConfirmation.engagement_id == bindparam("engagement_id")
)


def exit_of(engagement_id: int) -> ExitConfirmation | None:
    """The engagement's exit confirmation row, if any (no permission check: callers have one)."""
    return db.session.scalar(_OF_ENGAGEMENT, {"engagement_id": engagement_id})


def get_exit(actor: User, engagement_id: int) -> ExitConfirmation:
    """The exit confirmations of an engagement the actor may see (an empty record if none)."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return exit_of(engagement.id) or empty_exit(engagement.id)


def empty_exit(engagement_id: int) -> ExitConfirmation:
    """What an engagement with no exit confirmation recorded shows (not added to the session)."""
    return ExitConfirmation(
        engagement_id=engagement_id, version=0, **dict.fromkeys(TEXT_FIELDS, "")
    )


def put_exit(actor: User, engagement_id: int, data: dict, *, expected_version=None):
    """Replace the exit confirmations; each part that changed is stamped with the actor."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.EDIT, engagement)
    if engagement.is_closed:
        raise Conflict("The engagement is closed; its exit confirmations are final.")
    _check(data, local_today(actor))
    row = exit_of(engagement.id)
    if expected_version is not None and (row.version if row else 0) != expected_version:
        current = row.version if row else 0
        raise StaleVersion(
            "Someone changed the exit confirmations since you loaded them; reload and retry.",
            errors={"version": [f"expected {expected_version}, current {current}"]},
        )
    if row is None:  # column defaults apply only at flush: start from the empty values
        row = ExitConfirmation(engagement_id=engagement.id, **dict.fromkeys(TEXT_FIELDS, ""))
        db.session.add(row)
    changed = _apply(row, data, actor)
    if changed:
        db.session.flush()
        audit.record(engagement, actor, "exit_updated", data={"changed": sorted(changed)})
        checklists.sync_bound_items(engagement)
        commit_and_derive()
    elif row.id is None:  # an empty record sent for a record never made: nothing to keep
        db.session.expunge(row)
        row.version = 0
    return row


def _apply(row: ExitConfirmation, data: dict, actor: User) -> set[str]:
    values = {name: data.get(name) for name in FIELDS}
    for name in FIELDS:
        if values[name] is None and name != "ip_assignment_confirmed_on":
            values[name] = "" if name != "data_disposition" else None
        elif isinstance(values[name], str):
            values[name] = values[name].strip() or (None if name == "data_disposition" else "")
    changed = {name for name in FIELDS if getattr(row, name) != values[name]}
    for name in changed:
        setattr(row, name, values[name])
    for part in {_PART_OF[name] for name in changed}:
        setattr(row, f"{part}_confirmed_by_id", actor.id)
    if "data" in {_PART_OF[name] for name in changed}:
        row.data_confirmed_on = clock.now().date() if row.data_disposition else None
    return changed


def _check(data: dict, today) -> None:
    errors: dict[str, list[str]] = {}
    day = data.get("ip_assignment_confirmed_on")
    if day is not None and day > today:
        errors["ip_assignment_confirmed_on"] = ["Not a future day: confirm it once it is signed."]
    disposition = data.get("data_disposition")
    if disposition not in (None, "", *DISPOSITIONS):
        errors["data_disposition"] = [f"One of {', '.join(DISPOSITIONS)}."]
    for name in URL_FIELDS:
        if problem := _url_problem(data.get(name) or ""):
            errors[name] = [problem]
    if data.get("data_certificate_url") and disposition not in DISPOSITIONS:
        errors.setdefault("data_disposition", []).append(
            "Say whether the data was returned or deleted."
        )
    if errors:
        raise ValidationFailed("The exit confirmations could not be saved.", errors=errors)
