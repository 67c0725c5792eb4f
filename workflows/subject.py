"""Plain-data facts about one engagement (the Subject) and the Actor firing a transition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

ROLES = ("admin", "manager", "provider", "stakeholder", "system")
DATE_KEYS = ("discovery_start", "trial_start", "trial_end", "period_start", "period_end")
DATE_KEYS += ("expected_resume",)  # set while on hold, when a resume date was given
CHECKLIST_KINDS = ("prerequisite", "placement", "knowledge_transfer")
CHECKLIST_COMPLETE = frozenset({"done", "not_applicable"})
MILESTONE_FINAL = frozenset({"met", "missed"})


@dataclass(frozen=True)
class Actor:
    """Who fires a transition; role "system" is the scheduler firing a timer."""

    id: int | None
    role: str
    name: str


@dataclass(frozen=True)
class ChecklistFact:
    """One prerequisite, placement or knowledge-transfer checklist item."""

    id: int
    kind: str
    title: str
    status: str
    owner_name: str | None = None
    due_date: date | None = None
    key: str | None = None  # the template key a definition's [[checklist]] binding names

    @property
    def is_complete(self) -> bool:
        """Done and not-applicable items both count as complete."""
        return self.status in CHECKLIST_COMPLETE


@dataclass(frozen=True)
class MilestoneFact:
    """One milestone; period 0 is the trial, 1.. are extensions."""

    id: int
    title: str
    due_date: date
    status: str
    success_criteria: str = ""
    period: int = 0
    targets: tuple[int, ...] = ()  # ids of the success metrics it has a numeric target for

    @property
    def is_final(self) -> bool:
        """Met and missed are verdicts; every other status is still open."""
        return self.status in MILESTONE_FINAL


@dataclass(frozen=True)
class MetricFact:
    """A success metric the engagement is judged by; a baseline says where it started."""

    id: int
    name: str
    has_baseline: bool = False


@dataclass(frozen=True)
class MemberFact:
    """A team member; external members must hand their areas over to internal shadows."""

    id: int
    name: str
    is_external: bool
    areas: tuple[str, ...] = ()
    end_date: date | None = None  # their last day on the engagement, when one is set

    def has_left(self, today: date) -> bool:
        """Their end date has passed (on their last day they are still on it)."""
        return self.end_date is not None and self.end_date < today


@dataclass(frozen=True)
class ShadowFact:
    """An internal engineer shadowing an external member over some areas."""

    id: int
    member_id: int
    shadow_name: str
    areas: tuple[str, ...] = ()
    signed_off: bool = False


@dataclass(frozen=True)
class AdrFact:
    """An architecture decision record (proposed/accepted/rejected/deprecated/superseded)."""

    id: int
    number: int
    title: str
    status: str


@dataclass(frozen=True)
class ArtifactFact:
    """A knowledge-retention artifact (runbook, architecture_overview, recording, other)."""

    id: int
    kind: str
    title: str


@dataclass(frozen=True)
class DrillFact:
    """A walk-away drill: an engineer doing a task of one area alone, and its outcome."""

    id: int
    member_id: int  # the external member whose area it is (through the shadow assignment)
    area: str
    outcome: str  # passed, partly or failed
    performed_on: date
    performer_name: str = ""
    performer_is_internal: bool = True


@dataclass(frozen=True)
class AccessFact:
    """One access entry of the register: a member's account on a system."""

    id: int
    member_id: int
    member_name: str
    system: str
    account: str = ""
    revoked_by: str | None = None  # who revoked it; None while still open
    verified_by: str | None = None  # who verified the revocation; None until then


@dataclass(frozen=True)
class ExitFact:
    """The exit confirmations recorded for the engagement (empty strings when missing)."""

    ip_assignment_confirmed: bool = False
    ip_document_url: str = ""
    data_disposition: str | None = None
    data_certificate_url: str = ""
    artifacts_transferred_to: str = ""


def _empty_dates() -> Mapping[str, date | None]:
    return MappingProxyType(dict.fromkeys(DATE_KEYS))


@dataclass(frozen=True)
class Subject:
    """Everything guards may look at, as immutable plain data."""

    state: str
    today: date
    checklist: tuple[ChecklistFact, ...] = ()
    milestones: tuple[MilestoneFact, ...] = ()
    members: tuple[MemberFact, ...] = ()
    shadows: tuple[ShadowFact, ...] = ()
    adrs: tuple[AdrFact, ...] = ()
    artifacts: tuple[ArtifactFact, ...] = ()
    metrics: tuple[MetricFact, ...] = ()
    drills: tuple[DrillFact, ...] = ()
    access: tuple[AccessFact, ...] = ()
    exit: ExitFact = ExitFact()
    current_period: int = 0
    dates: Mapping[str, date | None] = field(default_factory=_empty_dates)
    technical_contact: str | None = None  # the named internal contact's name
    paused_from: str | None = None  # while on hold: the state a history transition returns to
    problem_statement: str = ""
    # Set by the engine, not the application: who is asking, and the inputs supplied
    # when a transition is fired (None while only listing the options).
    actor_role: str | None = None
    inputs: Mapping[str, object] | None = None
    # The definition's checklist bindings: template key -> FactCall (workflows.facts).
    bindings: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))


def areas_owed(subject: Subject) -> list[tuple[MemberFact, str]]:
    """The (external member, area) pairs whose knowledge the client must end up holding:
    every area of every external member, except an area of one who has left that a current
    external member now holds (it was handed on; the holder's own pair stands for it).
    A leaver's area nobody holds now stays owed: that knowledge left with them."""
    external = [m for m in subject.members if m.is_external]
    held_now = {a for m in external if not m.has_left(subject.today) for a in m.areas}
    return [
        (member, area)
        for member in external
        for area in member.areas
        if not (member.has_left(subject.today) and area in held_now)
    ]


def left_note(member: MemberFact, today: date) -> str:
    """What a gap about a leaver's area adds: they cannot be shadowed any more, so the way
    out is to give the area to a current member."""
    if not member.has_left(today):
        return ""
    return (
        f" (they left on {member.end_date.isoformat()} and nobody on the team holds the area"
        " now; give it to a current member)"
    )
