"""The fact registry: named truths about an engagement that a checklist item can be bound to.

A definition binds a checklist item (by its template key) to a fact; the item is then done
exactly while the fact holds. Each fact says, in a sentence, what is missing while it does
not hold and where that is fixed (`fix`: a place the page links to).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .handover import access_all_closed, access_register_complete
from .params import ParamSpec
from .subject import Subject

# Where a missing fact is put right; the application maps each to a link.
FIX_PLACES = ("engagement_edit", "team", "milestones", "knowledge", "access", "exit")


@dataclass(frozen=True)
class Fact:
    """A registered fact: whether it holds, what is missing while not, and where it is fixed."""

    name: str
    holds: Callable[[Subject, Mapping[str, object]], bool]
    missing: Callable[[Mapping[str, object]], str]
    fix: str
    params: Mapping[str, ParamSpec]
    description: str


@dataclass(frozen=True)
class FactCall:
    """A fact named in a definition, with its parameters (defaults filled in)."""

    name: str
    params: Mapping[str, object]

    def holds(self, subject: Subject) -> bool:
        return FACTS[self.name].holds(subject, self.params)

    def missing(self) -> str:
        return FACTS[self.name].missing(self.params)

    @property
    def fix(self) -> str:
        return FACTS[self.name].fix


def _metrics_defined(subject: Subject) -> bool:
    """A metric with a baseline has a target on the trial's last milestone (period 0)."""
    trial = [m for m in subject.milestones if m.period == 0]
    if not trial:
        return False
    last = max(trial, key=lambda m: (m.due_date, m.id))
    with_baseline = {m.id for m in subject.metrics if m.has_baseline}
    return bool(with_baseline & set(last.targets))


def _artifact_noun(params: Mapping[str, object]) -> str:
    return str(params["kind"]).replace("_", " ")


_FACTS = (
    Fact(
        "technical_contact_named",
        lambda s, p: s.technical_contact is not None,
        lambda p: "no internal technical contact is named yet; name one on the engagement",
        "engagement_edit",
        {},
        "An internal technical contact is named on the engagement.",
    ),
    Fact(
        "problem_statement_written",
        lambda s, p: bool(s.problem_statement.strip()),
        lambda p: "the problem statement is empty; write it on the engagement",
        "engagement_edit",
        {},
        "The engagement's problem statement is written.",
    ),
    Fact(
        "success_criteria_written",
        lambda s, p: any(m.success_criteria.strip() for m in s.milestones),
        lambda p: "no milestone has measurable success criteria yet; add them to a milestone",
        "milestones",
        {},
        "At least one milestone has measurable success criteria.",
    ),
    Fact(
        "success_metrics_defined",
        lambda s, p: _metrics_defined(s),
        lambda p: (
            "no success metric has both a baseline and a target on the trial's last "
            "milestone yet; define one under Evidence"
        ),
        "milestones",
        {},
        "At least one success metric has a baseline and a target on the trial's last milestone.",
    ),
    Fact(
        "team_has_member",
        lambda s, p: bool(s.members),
        lambda p: "the team has no members yet; add one",
        "team",
        {},
        "The team has at least one member.",
    ),
    Fact(
        "artifact_present",
        lambda s, p: any(a.kind == p["kind"] for a in s.artifacts),
        lambda p: f"no {_artifact_noun(p)} has been added yet; add one under knowledge retention",
        "knowledge",
        {"kind": ParamSpec("str", "artifact kind", required=True)},
        "At least one knowledge-retention artifact of the given kind is attached.",
    ),
)

# The handover facts (workflows/handover.py): the access register and the exit.
_FACTS += (
    Fact(
        "access_register_complete",
        lambda s, p: access_register_complete(s),
        lambda p: "an external member has no access entry yet; list the systems they can reach",
        "access",
        {},
        "Every external member has at least one entry in the access register.",
    ),
    Fact(
        "access_revoked_verified",
        lambda s, p: access_all_closed(s),
        lambda p: (
            "the access register is empty, or an entry is not yet revoked and "
            "verified by a second person"
        ),
        "team",
        {},
        "The access register has entries, each revoked and verified by someone else.",
    ),
    Fact(
        "artifacts_transferred",
        lambda s, p: bool(s.exit.artifacts_transferred_to.strip()),
        lambda p: (
            "where the repositories and model artifacts went is not recorded; "
            "record it in the exit confirmations"
        ),
        "exit",
        {},
        "The exit confirmations say where repositories and model artifacts were transferred.",
    ),
)

FACTS: Mapping[str, Fact] = MappingProxyType({f.name: f for f in _FACTS})
