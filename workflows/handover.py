"""Handover judgments over plain facts: drilled areas, the access register, the exit confirmations.

Each check returns every unmet requirement in words (never just False). The guard
registry (`guards.py`) and the fact registry (`facts.py`) name them, so a definition can
put them on any transition or bind a checklist item to them. `[handover]` in a definition
sets how long the follow-up of a failed drill has (`drill_follow_up_days`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from .outcomes import Unmet
from .problems import Problems
from .subject import AccessFact, DrillFact, Subject, areas_owed, left_note

PASSED = "passed"
DEFAULT_DRILL_WINDOW_DAYS = 30


@dataclass(frozen=True)
class HandoverRules:
    """The [handover] table: the days a failed or partial drill's follow-up item is due in."""

    drill_follow_up_days: int = 7


def parse_handover(raw: object, problems: Problems) -> HandoverRules:
    """[handover] with `drill_follow_up_days` (a whole number of days, 1 to 90)."""
    if raw is None:
        return HandoverRules()
    if not isinstance(raw, dict) or raw.keys() - {"drill_follow_up_days"}:
        problems.add("handover", "must be a table with only 'drill_follow_up_days'")
        return HandoverRules()
    days = raw.get("drill_follow_up_days", HandoverRules.drill_follow_up_days)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 90:
        problems.add("handover.drill_follow_up_days", "must be a whole number from 1 to 90")
        return HandoverRules()
    return HandoverRules(days)


def _short(day) -> str:
    return f"{day.day} {day:%b} {day.year}"


def _area_gap(member_name: str, area: str, drills: list[DrillFact], window: int) -> str:
    """Why this area has no proof yet: never drilled, only failed, or passed too long ago."""
    head = f"Area '{area}' of {member_name} has no passed drill by an internal engineer"
    head += f" in the last {window} days"
    if not drills:
        return f"{head}; none has been recorded"
    last = max(drills, key=lambda d: (d.performed_on, d.id))
    return f"{head}; the last one, on {_short(last.performed_on)}, {_outcome_words(last)}"


def _outcome_words(drill: DrillFact) -> str:
    if drill.outcome == PASSED:
        return "passed but is too old" if drill.performer_is_internal else "was not internal"
    return "partly passed" if drill.outcome == "partly" else "failed"


def drill_counts(drill: DrillFact, subject: Subject, window: int) -> bool:
    """A drill is proof when it passed, an internal engineer did it, and it is recent."""
    recent = drill.performed_on >= subject.today - timedelta(days=window)
    return drill.outcome == PASSED and drill.performer_is_internal and recent


def areas_drilled(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """Every area owed by an external member (`areas_owed`: not one a leaver handed on) has
    a passed drill performed by an internal engineer within `within_days` days."""
    window = int(params.get("within_days", DEFAULT_DRILL_WINDOW_DAYS))
    unmet = []
    for member, area in areas_owed(subject):
        drills = [d for d in subject.drills if d.member_id == member.id and d.area == area]
        if any(drill_counts(d, subject, window) for d in drills):
            continue
        message = _area_gap(member.name, area, drills, window) + left_note(member, subject.today)
        ref = {"kind": "member", "id": member.id, "area": area, "fix": "knowledge"}
        unmet.append(Unmet("area_without_passed_drill", message, ref))
    return unmet


def _access_gap(entry: AccessFact) -> Unmet | None:
    where = f"{entry.system}" + (f" ({entry.account})" if entry.account else "")
    ref = {"kind": "access", "id": entry.id, "fix": "access"}
    if entry.revoked_by is None:
        message = f"{entry.member_name}'s access to {where} is not revoked yet"
        return Unmet("access_not_revoked", message, ref)
    if entry.verified_by is None:
        message = (
            f"{entry.member_name}'s access to {where} was revoked by {entry.revoked_by}; "
            "someone else has not verified it yet"
        )
        return Unmet("access_not_verified", message, ref)
    return None


def access_revoked_verified(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """Every access entry of the register is revoked and the revocation verified by a
    second person."""
    return [gap for gap in map(_access_gap, subject.access) if gap is not None]


def exit_confirmed(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """The exit confirmations are recorded: IP assignment (date and document), data returned
    or deleted (with its certificate), and where repositories and model artifacts went."""
    exit_, unmet = subject.exit, []
    ref = {"kind": "exit", "fix": "exit"}
    if not (exit_.ip_assignment_confirmed and exit_.ip_document_url):
        message = "The IP assignment is not confirmed yet (the date and a link to the document)"
        unmet.append(Unmet("ip_assignment_unconfirmed", message, ref))
    if not (exit_.data_disposition and exit_.data_certificate_url):
        message = (
            "Nobody has confirmed that the data was returned or deleted "
            "(which, and a link to the certificate)"
        )
        unmet.append(Unmet("data_disposition_unconfirmed", message, ref))
    if not exit_.artifacts_transferred_to.strip():
        message = "Where the repositories and model artifacts were transferred is not recorded"
        unmet.append(Unmet("artifacts_not_transferred", message, ref))
    return unmet


def access_register_complete(subject: Subject) -> bool:
    """There is an external member, and every external member has at least one access entry
    (a team of nobody has not had its register written)."""
    listed = {entry.member_id for entry in subject.access}
    external = [m for m in subject.members if m.is_external]
    return bool(external) and all(m.id in listed for m in external)


def access_all_closed(subject: Subject) -> bool:
    """The register has entries and every one is revoked and verified (an empty register
    proves nothing: the checklist item stays open, the close guard has nothing to list)."""
    return bool(subject.access) and not access_revoked_verified(subject, {})
