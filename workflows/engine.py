"""The engine: which transitions an actor may fire now, and the plan for firing one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from .definition import ActionCall, Definition, Transition
from .errors import InvalidInputs, TransitionNotAllowed, UnknownEvent
from .guards import GUARDS
from .inputs import clean_inputs
from .outcomes import Plan, PlannedAction, PlannedTimer, TransitionOption, Unmet
from .params import input_reference
from .subject import Actor, Subject


def _role_unmet(transition: Transition, actor: Actor) -> list[Unmet]:
    if actor.role in transition.roles:
        return []
    message = (
        f"Only {', '.join(transition.roles)} may {transition.label.lower()}; "
        f"you are acting as {actor.role}"
    )
    return [Unmet("role_not_allowed", message, {"kind": "role", "roles": list(transition.roles)})]


def _substitute(call: ActionCall, inputs: Mapping[str, object]) -> PlannedAction:
    params = {}
    for key, value in call.params.items():
        ref = input_reference(value)
        params[key] = inputs.get(ref) if ref is not None else _copy(value)
    return PlannedAction(call.name, params)


def _copy(value: object) -> object:
    return list(value) if isinstance(value, list) else value


class Engine:
    """Evaluates one definition against engagement facts; pure, stateless and thread-safe."""

    def __init__(self, definition: Definition):
        self.definition = definition

    def guard_unmet(self, transition: Transition, subject: Subject) -> list[Unmet]:
        """Every unmet requirement of every guard of the transition (never only the first)."""
        unmet: list[Unmet] = []
        subject = replace(subject, bindings=MappingProxyType(self.definition.bindings))
        for call in transition.guards:
            unmet.extend(GUARDS[call.name].function(subject, call.params))
        return unmet

    def options(self, subject: Subject, actor: Actor) -> list[TransitionOption]:
        """Every transition out of the subject's state, with whether `actor` may fire it now."""
        options = []
        for transition in self.definition.transitions_from(subject.state):
            target = self._target(transition, subject)
            if target is None:
                continue  # a history transition with nowhere recorded to return to
            role_unmet = _role_unmet(transition, actor)
            asking = replace(subject, actor_role=actor.role, inputs=None)
            guard_unmet = self.guard_unmet(transition, asking)
            unmet = tuple(role_unmet + guard_unmet)
            options.append(
                TransitionOption(
                    event=transition.event,
                    label=transition.label,
                    to_state=target,
                    allowed=not unmet,
                    unmet=unmet,
                    inputs=transition.inputs,
                    roles=transition.roles,
                    overridable=bool(
                        guard_unmet
                        and not role_unmet
                        and transition.overridable
                        and actor.role == "admin"
                    ),
                    to_label=self.definition.states[target].label,
                    ends_early=_ends_early(self.definition, transition),
                )
            )
        return options

    def _target(self, transition: Transition, subject: Subject) -> str | None:
        """Where the transition leads from this subject: a history transition returns to
        the recorded `paused_from` (None when that is not a state it may return to)."""
        if not transition.history:
            return transition.to
        back = subject.paused_from
        return back if back in self.definition.returns_to(transition) else None

    def transition_for(self, state: str, event: str) -> Transition:
        """The transition `event` out of `state`; raises UnknownEvent naming what exists."""
        transition = self.definition.find_transition(state, event)
        if transition is None:
            available = [t.event for t in self.definition.transitions_from(state)]
            raise UnknownEvent(state, event, available)
        return transition

    def plan(
        self,
        subject: Subject,
        actor: Actor,
        event: str,
        inputs: Mapping[str, object] | None = None,
        override_reason: str | None = None,
    ) -> Plan:
        """The plan for firing `event` now, or raise why not (role, inputs, then guards)."""
        transition = self.transition_for(subject.state, event)
        target = self._target(transition, subject)
        if target is None:
            message = f"'{event}' has no state to return to: none was recorded on entering the hold"
            raise TransitionNotAllowed([Unmet("no_state_to_return_to", message, None)])
        reason = _check_override_request(actor, override_reason)
        role_unmet = _role_unmet(transition, actor)
        if role_unmet:
            raise TransitionNotAllowed(role_unmet)
        cleaned = clean_inputs(transition.inputs, inputs or {})
        firing = replace(subject, actor_role=actor.role, inputs=MappingProxyType(dict(cleaned)))
        unmet = tuple(self.guard_unmet(transition, firing))
        if unmet and (reason is None or not transition.overridable):
            raise TransitionNotAllowed(unmet)
        return self._build_plan(transition, subject.state, target, cleaned, unmet, reason)

    def _build_plan(self, transition, from_state, to_state, cleaned, overridden, reason) -> Plan:
        target = self.definition.states[to_state]
        # Resuming is not entering anew: the state's on_enter actions (a trial window,
        # a milestone plan) ran when it was first entered; its timers are set again.
        calls = transition.actions + (() if transition.history else target.on_enter)
        return Plan(
            event=transition.event,
            from_state=from_state,
            to_state=to_state,
            actions=tuple(_substitute(call, cleaned) for call in calls),
            timers=tuple(PlannedTimer(t.event, t.at) for t in target.timers),
            cleaned_inputs=cleaned,
            overridden=overridden,
            override_reason=reason if overridden else None,
            is_final=target.final,
            pauses=target.phase == "paused",
            resumes=transition.history,
        )


def _check_override_request(actor: Actor, override_reason: str | None) -> str | None:
    """The stripped override reason, after checking that this actor may give one."""
    if override_reason is None:
        return None
    if actor.role != "admin":
        message = "Only an admin may override unmet requirements"
        raise TransitionNotAllowed([Unmet("override_not_allowed", message, {"kind": "role"})])
    reason = override_reason.strip() if isinstance(override_reason, str) else ""
    if not reason:
        raise InvalidInputs({"override_reason": ["Give a written reason for the override."]})
    return reason


def _ends_early(definition, transition) -> bool:
    """A transition into a final state whose outcome is not "completed"."""
    if transition.history or not definition.states[transition.to].final:
        return False
    outcomes = [a.params.get("outcome") for a in transition.actions if a.name == "set_outcome"]
    return any(outcome != "completed" for outcome in outcomes)
