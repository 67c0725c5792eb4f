"""What evaluating a transition returns: unmet requirements, options and plans."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .definition import InputSpec


@dataclass(frozen=True)
class Unmet:
    """One unmet requirement: a stable code, a sentence for a manager, and what to fix."""

    code: str
    message: str
    ref: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as used in API error bodies."""
        return {"code": self.code, "message": self.message, "ref": self.ref}


@dataclass(frozen=True)
class TransitionOption:
    """A transition out of the current state and whether this actor may fire it now."""

    event: str
    label: str
    to_state: str
    allowed: bool
    unmet: tuple[Unmet, ...]
    inputs: tuple[InputSpec, ...]
    roles: tuple[str, ...]
    overridable: bool
    to_label: str = ""
    ends_early: bool = False  # closes the engagement without completing it (cancel, terminate)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the UI and the API."""
        return {
            "event": self.event,
            "label": self.label,
            "to_state": self.to_state,
            "allowed": self.allowed,
            "unmet": [u.to_dict() for u in self.unmet],
            "inputs": [i.to_dict() for i in self.inputs],
            "roles": list(self.roles),
            "overridable": self.overridable,
        }


@dataclass(frozen=True)
class PlannedAction:
    """An action the Flask side must run, with "$input.*" references already substituted."""

    name: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedTimer:
    """A timer to schedule on entering the state: fire `event` on the date `at` resolves to."""

    event: str
    at: str


@dataclass(frozen=True)
class Plan:
    """Everything firing the transition must do, in one database transaction."""

    event: str
    from_state: str
    to_state: str
    actions: tuple[PlannedAction, ...]
    timers: tuple[PlannedTimer, ...]
    cleaned_inputs: dict
    overridden: tuple[Unmet, ...] = ()
    override_reason: str | None = None
    is_final: bool = False
    pauses: bool = False  # enters a paused state: the app records where from and why
    resumes: bool = False  # a history transition: back to the state the hold began in
