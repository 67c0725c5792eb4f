"""The workflow engine's exception tree: every error raised here derives from WorkflowError."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


class WorkflowError(Exception):
    """Base class of every error raised by the workflows package."""


class InvalidDefinition(WorkflowError):
    """A definition file (or a set of them) failed validation; `.errors` lists every problem."""

    def __init__(self, errors: Sequence[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors) or "invalid definition")


class InvalidExpression(WorkflowError, ValueError):
    """A date-offset or duration expression could not be parsed."""


class UnknownEvent(WorkflowError):
    """The event is not defined out of the subject's current state."""

    def __init__(self, state: str, event: str, available: Iterable[str]):
        self.state = state
        self.event = event
        self.available = tuple(available)
        events = ", ".join(self.available) or "none"
        super().__init__(
            f"Event '{event}' is not defined from state '{state}'; available events: {events}"
        )


class InvalidInputs(WorkflowError):
    """The transition's inputs are missing or invalid; `.errors` maps field -> messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {field: list(messages) for field, messages in errors.items()}
        text = "; ".join(f"{f}: {' '.join(m)}" for f, m in self.errors.items())
        super().__init__(f"Invalid inputs: {text}")


class TransitionNotAllowed(WorkflowError):
    """The transition may not be fired now; `.unmet` lists every reason (tuple of Unmet)."""

    def __init__(self, unmet: Iterable):
        self.unmet = tuple(unmet)
        super().__init__(" ".join(u.message for u in self.unmet) or "transition not allowed")

    @property
    def codes(self) -> tuple[str, ...]:
        """The stable codes of every unmet requirement, in order."""
        return tuple(u.code for u in self.unmet)


class UnknownDefinition(WorkflowError, LookupError):
    """A catalog has no definition with that name (and version)."""
