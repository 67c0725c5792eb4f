"""Workflow definition dataclasses: states, transitions, guards, actions, timers, reminders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .expressions import Offset
from .facts import FactCall
from .handover import HandoverRules
from .hiring import HiringRules
from .meaning import DEFAULT_PERIOD, HealthRules, ReadinessRules

PREVIOUS = "$previous"  # the `to` of a history transition


@dataclass(frozen=True)
class InputSpec:
    """An input the actor supplies when firing a transition (a reason, an extension length...)."""

    name: str
    type: str
    label: str
    required: bool = True
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    help: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, so a UI can render the field."""
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "required": self.required,
            "min": self.min,
            "max": self.max,
            "max_length": self.max_length,
            "choices": list(self.choices),
            "help": self.help,
        }


@dataclass(frozen=True)
class GuardCall:
    """A guard named in a transition, with its parameters (defaults filled in)."""

    name: str
    params: Mapping[str, object]


@dataclass(frozen=True)
class ActionCall:
    """An action named in a transition or a state's on_enter, with its parameters."""

    name: str
    params: Mapping[str, object]


@dataclass(frozen=True)
class TimerSpec:
    """On entering the state, schedule `event` to fire at the date `at` resolves to."""

    event: str
    at: str
    offset: Offset


@dataclass(frozen=True)
class State:
    """One state of the lifecycle."""

    name: str
    label: str
    initial: bool = False
    final: bool = False
    on_enter: tuple[ActionCall, ...] = ()
    timers: tuple[TimerSpec, ...] = ()
    description: str = ""
    phase: str = "active"
    period: tuple[str, str] = DEFAULT_PERIOD
    tone: str = "blue"
    # Kinds of change a direct edit may not make in this state (workflows/change_rules.py).
    change_requests: tuple[str, ...] = ()

    def needs_change_request(self, kind: str) -> bool:
        """Whether a change of this kind must go through an approved change request here."""
        return kind in self.change_requests

    @property
    def is_period(self) -> bool:
        """A dated working period (a trial, an extension): its dates are `period`."""
        return self.phase == "period"


@dataclass(frozen=True)
class Transition:
    """An event leading from one or more states to another, with who may fire it and guards."""

    event: str
    from_states: tuple[str, ...]
    to: str
    label: str
    roles: tuple[str, ...]
    guards: tuple[GuardCall, ...] = ()
    inputs: tuple[InputSpec, ...] = ()
    actions: tuple[ActionCall, ...] = ()
    from_any: bool = False
    overridable: bool = True
    index: int = 0

    @property
    def history(self) -> bool:
        """A history transition (`to = "$previous"`): back to the state the hold began in."""
        return self.to == PREVIOUS


@dataclass(frozen=True)
class ReminderRule:
    """When to remind whom about a milestone, checklist item or period end.

    The reminder is due at anchor + offset (offset is negative before the anchor), then
    again every `repeat_every` until `until` holds; only while the engagement is in `states`.
    """

    name: str
    subject: str
    anchor: str
    offset: timedelta
    repeat_every: timedelta | None
    until: str
    recipients: tuple[str, ...]
    states: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class ChecklistBinding:
    """A checklist item (by template key) that is done exactly while `fact` holds."""

    key: str
    fact: FactCall


@dataclass(frozen=True)
class Definition:
    """A validated workflow definition (immutable)."""

    name: str
    version: int
    title: str
    states: Mapping[str, State]
    transitions: tuple[Transition, ...]
    reminders: tuple[ReminderRule, ...]
    content_hash: str
    source: str = "<string>"
    description: str = ""
    health: HealthRules = HealthRules()
    readiness: ReadinessRules = ReadinessRules()
    checklist: tuple[ChecklistBinding, ...] = ()
    handover: HandoverRules = HandoverRules()
    hiring: HiringRules = HiringRules()

    @property
    def bindings(self) -> Mapping[str, FactCall]:
        """Template key -> the fact that completes that checklist item."""
        return {b.key: b.fact for b in self.checklist}

    @property
    def initial_state(self) -> str:
        """The name of the single initial state."""
        return next(s.name for s in self.states.values() if s.initial)

    @property
    def final_states(self) -> tuple[str, ...]:
        """The names of the final states, in file order."""
        return tuple(s.name for s in self.states.values() if s.final)

    def states_in_phase(self, *phases: str) -> tuple[str, ...]:
        """The names of the states whose phase is one of `phases`, in file order."""
        return tuple(s.name for s in self.states.values() if s.phase in phases)

    @property
    def change_request_states(self) -> tuple[str, ...]:
        """The states in which some change needs a change request, in file order."""
        return tuple(s.name for s in self.states.values() if s.change_requests)

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        """Every transition out of `state`, in file order."""
        return tuple(t for t in self.transitions if state in t.from_states)

    def returns_to(self, transition: Transition) -> tuple[str, ...]:
        """The states a transition may lead to: for a history transition, every state
        from which its paused source state can be entered, in file order."""
        if not transition.history:
            return (transition.to,)
        sources = set(transition.from_states)
        pausing = {s for t in self.transitions if t.to in sources for s in t.from_states}
        return tuple(n for n in self.states if n in pausing)

    def find_transition(self, state: str, event: str) -> Transition | None:
        """The transition `event` out of `state`, or None."""
        return next((t for t in self.transitions_from(state) if t.event == event), None)
