"""The guard registry: named checks over a Subject that return every unmet requirement."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from .handover import access_revoked_verified, areas_drilled, exit_confirmed
from .outcomes import Unmet
from .params import ParamSpec
from .subject import CHECKLIST_KINDS, Subject, areas_owed, left_note

GuardFunction = Callable[[Subject, Mapping[str, object]], list[Unmet]]

_CHECKLIST_WORDING = {
    "prerequisite": ("prerequisite_incomplete", "Prerequisite"),
    "placement": ("placement_incomplete", "Placement item"),
    "knowledge_transfer": ("kt_item_incomplete", "Knowledge-transfer item"),
}


@dataclass(frozen=True)
class Guard:
    """A registered guard: its function, parameters and a one-line description for docs;
    `inputs` names the transition inputs it reads (checked at load time)."""

    name: str
    function: GuardFunction
    params: Mapping[str, ParamSpec]
    description: str
    inputs: tuple[str, ...] = ()


def short_date(day: date, today: date | None = None) -> str:
    """'3 Mar', or '3 Mar 2026' when the year differs from today's."""
    text = f"{day.day} {day:%b}"
    return text if today is not None and day.year == today.year else f"{text} {day.year}"


def _bound_unmet(code: str, noun: str, item, fact) -> Unmet:
    """A bound item is judged by its fact, and the sentence says what to fix, and where."""
    message = f"{noun} '{item.title}' is not done: {fact.missing()}"
    ref = {"kind": "checklist", "id": item.id, "fact": fact.name, "fix": fact.fix}
    return Unmet(code, message, ref)


def checklist_complete(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """Every checklist item of the given kind is done or not applicable (a bound one: its
    fact holds, whatever the row says)."""
    code, noun = _CHECKLIST_WORDING[str(params["kind"])]
    unmet = []
    for item in subject.checklist:
        fact = subject.bindings.get(item.key) if item.key else None
        if item.kind != params["kind"]:
            continue
        if fact is not None:
            if not fact.holds(subject):
                unmet.append(_bound_unmet(code, noun, item, fact))
            continue
        if item.is_complete:
            continue
        owner = f"owner: {item.owner_name}" if item.owner_name else "no owner"
        due = f", due {short_date(item.due_date, subject.today)}" if item.due_date else ""
        message = f"{noun} '{item.title}' is not done ({owner}{due})"
        unmet.append(Unmet(code, message, {"kind": "checklist", "id": item.id}))
    return unmet


def team_min(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """The team has at least `count` members."""
    count, size = int(params["count"]), len(subject.members)
    if size >= count:
        return []
    wanted = f"at least {count} member{'s' if count != 1 else ''}"
    if size == 0:
        return [Unmet("team_empty", f"The team has no members yet; add {wanted}", {"kind": "team"})]
    message = f"The team has {size} member{'s' if size != 1 else ''}; it needs {wanted}"
    return [Unmet("team_too_small", message, {"kind": "team"})]


def milestone_with_criteria(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """At least `min` milestones have non-empty, measurable success criteria."""
    wanted = int(params["min"])
    lacking = [m for m in subject.milestones if not m.success_criteria.strip()]
    if len(subject.milestones) - len(lacking) >= wanted:
        return []
    if not lacking:
        message = f"No milestone has success criteria yet; add at least {wanted} with criteria"
        return [Unmet("milestone_without_criteria", message, {"kind": "milestone"})]
    return [
        Unmet(
            "milestone_without_criteria",
            f"Milestone '{m.title}' (due {short_date(m.due_date, subject.today)}) "
            "has no measurable success criteria",
            {"kind": "milestone", "id": m.id},
        )
        for m in lacking
    ]


def milestone_with_targets(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """At least `min` milestones have a numeric target for a success metric (text criteria
    alone are judged by hand and do not count)."""
    wanted = int(params["min"])
    if sum(1 for m in subject.milestones if m.targets) >= wanted:
        return []
    plural = "s" if wanted != 1 else ""
    message = (
        f"No milestone has a numeric target yet; set a target for a success metric "
        f"on at least {wanted} milestone{plural}"
    )
    return [Unmet("milestone_without_targets", message, {"kind": "milestone"})]


def period_milestones_final(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """Every milestone of the current period has a verdict: met or missed."""
    return [
        Unmet(
            "milestone_not_final",
            f"Milestone '{m.title}' (due {short_date(m.due_date, subject.today)}) is "
            f"'{m.status.replace('_', ' ')}'; mark it met or missed",
            {"kind": "milestone", "id": m.id},
        )
        for m in subject.milestones
        if m.period == subject.current_period and not m.is_final
    ]


def _area_message(member_name: str, area: str, pending: list[str]) -> str:
    if pending:
        return (
            f"Area '{area}' of {member_name} is shadowed by {', '.join(pending)}, "
            "who has not signed off yet"
        )
    return f"Area '{area}' of {member_name} has no internal shadow who signed off"


def shadows_signed_off(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """Every area owed by an external member (`areas_owed`: not one a leaver handed on) is
    covered by a signed-off internal shadow."""
    unmet = []
    for member, area in areas_owed(subject):
        covering = [s for s in subject.shadows if s.member_id == member.id and area in s.areas]
        if any(s.signed_off for s in covering):
            continue
        message = _area_message(member.name, area, [s.shadow_name for s in covering])
        message += left_note(member, subject.today)
        ref = {"kind": "member", "id": member.id, "area": area}
        unmet.append(Unmet("area_without_signed_off_shadow", message, ref))
    return unmet


def no_proposed_adrs(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """No architecture decision record is left in 'proposed'."""
    return [
        Unmet(
            "adr_still_proposed",
            f"ADR {adr.number} '{adr.title}' is still proposed; accept or reject it",
            {"kind": "adr", "id": adr.id},
        )
        for adr in subject.adrs
        if adr.status == "proposed"
    ]


def artifact_present(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """At least one artifact of the given kind (e.g. runbook) is attached."""
    kind = str(params["kind"])
    if any(a.kind == kind for a in subject.artifacts):
        return []
    noun = kind.replace("_", " ")
    message = f"No {noun} has been added yet; add one under knowledge retention"
    return [Unmet(f"{kind}_missing", message, {"kind": "artifact", "artifact_kind": kind})]


def early_review_needs_reason(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """A person beginning the review more than `within_days` before the period's end date
    writes why (input `reason`); the scheduler's timer at the end always passes."""
    end = subject.dates.get(str(params["end"]))
    if subject.inputs is None or subject.actor_role == "system" or end is None:
        return []  # judged when fired: the reason is an input of the firing
    within, left = int(params["within_days"]), (end - subject.today).days
    if left <= within or str(subject.inputs.get("reason") or "").strip():
        return []
    message = (
        f"The period ends on {short_date(end, subject.today)}, in {left} days; beginning "
        f"the review before its last {within} days needs a written reason"
    )
    return [Unmet("early_review_without_reason", message, {"kind": "input", "name": "reason"})]


def date_set(subject: Subject, params: Mapping[str, object]) -> list[Unmet]:
    """The named engagement date (e.g. trial_end) is set."""
    key = str(params["date"])
    if subject.dates.get(key) is not None:
        return []
    message = f"The {key.replace('_', ' ')} date is not set"
    return [Unmet("date_missing", message, {"kind": "date", "name": key})]


def _guard(function: GuardFunction, **params: ParamSpec) -> Guard:
    doc = " ".join((function.__doc__ or "").split())
    inputs = ("reason",) if function is early_review_needs_reason else ()
    return Guard(function.__name__, function, params, doc, inputs)


GUARDS: Mapping[str, Guard] = MappingProxyType(
    {
        g.name: g
        for g in (
            _guard(
                checklist_complete,
                kind=ParamSpec("choice", "checklist kind", required=True, choices=CHECKLIST_KINDS),
            ),
            _guard(team_min, count=ParamSpec("int", "minimum team size", default=1, minimum=1)),
            _guard(
                milestone_with_criteria,
                min=ParamSpec("int", "minimum number of milestones", default=1, minimum=1),
            ),
            _guard(
                milestone_with_targets,
                min=ParamSpec("int", "minimum number of milestones", default=1, minimum=1),
            ),
            _guard(period_milestones_final),
            _guard(shadows_signed_off),
            _guard(no_proposed_adrs),
            _guard(artifact_present, kind=ParamSpec("str", "artifact kind", required=True)),
            _guard(date_set, date=ParamSpec("date_key", "engagement date", required=True)),
            _guard(
                areas_drilled,
                within_days=ParamSpec("int", "days a passed drill counts", default=30, minimum=1),
            ),
            _guard(access_revoked_verified),
            _guard(exit_confirmed),
            _guard(
                early_review_needs_reason,
                within_days=ParamSpec("int", "days before the end", default=14, minimum=0),
                end=ParamSpec("date_key", "the period's end date", default="period_end"),
            ),
        )
    }
)
