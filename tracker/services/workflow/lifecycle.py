"""What an engagement's state means, read from the definition it runs on.

Every part of the application that needs to know whether an engagement is in a
dated working period, under review, winding down or closed asks here, so no
module compares state names: a definition whose states are named differently,
or shaped differently (two consecutive periods, no trial), behaves the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask import current_app

from tracker.errors import TrackerError
from tracker.models import Engagement
from tracker.services.workflow import workflow_registry as workflow
from workflows import Definition, State, UnknownDefinition, WorkflowError
from workflows.meaning import DEFAULT_TONE, PHASES, HealthRules, ReadinessRules

# The order lists sort states in: by phase, then as the definition lists them.
PHASE_ORDER = {phase: i for i, phase in enumerate(PHASES)}


@dataclass(frozen=True)
class Period:
    """A dated working period: its label ("Trial"), first and last day."""

    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        """How many days the period has (N in "day X of N")."""
        return max(1, (self.end - self.start).days)

    def day(self, today: date) -> int:
        """Which day of the period `today` is, 1 on its first, clamped to 1..N: the one
        "day X of N" every page and message says (header, list, cost caption, digest)."""
        return min(max(1, (today - self.start).days + 1), self.days)

    def progress(self, today: date) -> tuple[str, int, int]:
        """(label, day X, of N days)."""
        return self.label, self.day(today), self.days


def definition_of(engagement) -> Definition | None:
    """The exact definition the engagement runs on (None if it cannot be loaded).

    Cached per content hash, so a list of engagements costs one look-up; it reads
    the file first and the recorded text only when the file says something else,
    and it never writes (it runs inside flush hooks too).
    """
    key = (engagement.workflow_name, engagement.workflow_version, engagement.workflow_hash)
    cache = current_app.extensions.setdefault("lifecycle_definitions", {})
    if key not in cache:
        try:
            cache[key] = _load(*key)
        except (TrackerError, WorkflowError):
            return None  # a broken or missing definition: shown as a plain state, never a 500
    return cache[key]


def _load(name: str, version: int, content_hash: str) -> Definition:
    try:
        definition = workflow.catalog().get(name, version)
    except UnknownDefinition:
        return workflow.stored_definition(name, version)
    if definition.content_hash != content_hash:
        return workflow.stored_definition(name, version)
    return definition


def state_of(engagement) -> State:
    """The engagement's current State (a neutral stand-in when the definition is unknown)."""
    definition = definition_of(engagement)
    if definition is not None and engagement.state in definition.states:
        return definition.states[engagement.state]
    final = engagement.closed_at is not None
    phase = "final" if final else "active"
    label = engagement.state.replace("_", " ").capitalize()
    return State(engagement.state, label, final=final, phase=phase, tone=DEFAULT_TONE[phase])


def phase_of(engagement: Engagement) -> str:
    """setup, period, review, wind_down, active, paused or final."""
    return state_of(engagement).phase


def state_label(engagement: Engagement) -> str:
    """The state's label as its definition writes it ("Milestone review")."""
    return state_of(engagement).label


def state_tone(engagement: Engagement) -> str:
    """The colour family the pages draw the state in."""
    return state_of(engagement).tone


def state_steps(engagement: Engagement) -> list[tuple[str, str, bool]]:
    """(name, label, is current) of every state of the engagement's definition, in the
    file's order, the paused state left out unless the engagement is in it: the
    lifecycle as a list, for screens too narrow for the diagram."""
    definition = definition_of(engagement)
    if definition is None:
        return [(engagement.state, state_label(engagement), True)]
    return [
        (state.name, state.label, state.name == engagement.state)
        for state in definition.states.values()
        if state.phase != "paused" or state.name == engagement.state
    ]


def label_of_state(engagement: Engagement, name: str | None) -> str:
    """The label of any state of the engagement's definition (audit lines, options)."""
    if not name:
        return ""
    definition = definition_of(engagement)
    if definition is not None and name in definition.states:
        return definition.states[name].label
    return name.replace("_", " ").capitalize()


def current_period(engagement: Engagement) -> Period | None:
    """The running period with both dates set, while the state is a period."""
    state = state_of(engagement)
    if not state.is_period:
        return None
    start, end = (getattr(engagement, key) for key in state.period)
    if start is None or end is None:
        return None
    return Period(state.label, start, end)


def period_progress(engagement: Engagement, today: date) -> tuple[str, int, int] | None:
    """("Trial", day X, of N) while a dated period runs, else None."""
    period = current_period(engagement)
    return period.progress(today) if period else None


def hold_text(engagement: Engagement) -> str | None:
    """ "On hold since 3 Dec (from Trial): Budget freeze; expected back 24 Dec" while the
    engagement is in a paused state, else None (dashboard, digests, calendar)."""
    if phase_of(engagement) != "paused":
        return None
    text = "On hold"
    if engagement.paused_at is not None:
        text += f" since {engagement.paused_at:%-d %b}"
    if engagement.paused_from_state:
        text += f" (from {label_of_state(engagement, engagement.paused_from_state)})"
    text += f": {engagement.pause_reason}" if engagement.pause_reason else ""
    if engagement.expected_resume is not None:
        text += f"; expected back {engagement.expected_resume:%-d %b}"
    return text


def health_rules(engagement: Engagement) -> HealthRules:
    """The health thresholds of the engagement's definition."""
    definition = definition_of(engagement)
    return definition.health if definition is not None else HealthRules()


def readiness_rules(engagement: Engagement) -> ReadinessRules:
    """The readiness weights of the engagement's definition."""
    definition = definition_of(engagement)
    return definition.readiness if definition is not None else ReadinessRules()


def known_states() -> list[str]:
    """Every state name of the definitions on disk, ordered by phase then file order."""
    return list(_state_order(workflow.catalog()))


@lru_cache(maxsize=4)
def _state_order(catalog) -> tuple[str, ...]:
    """Computed once per catalog (a changed file makes a new catalog object)."""
    seen: dict[str, tuple[int, int]] = {}
    for definition in catalog:
        for index, state in enumerate(definition.states.values()):
            rank = (PHASE_ORDER[state.phase], index)
            seen[state.name] = min(seen.get(state.name, rank), rank)
    return tuple(sorted(seen, key=seen.__getitem__))
