"""Firing lifecycle transitions: one transaction for state, actions, timers and audit."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import update

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import Conflict, Forbidden, GuardFailed, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, User, WorkflowTimer
from tracker.services.core import audit
from tracker.services.core.transactions import (
    check_version,
    commit_and_derive,
    losing_race_is_conflict,
)
from tracker.services.messaging import webhook_events
from tracker.services.workflow import holds
from tracker.services.workflow.subjects import build_subject
from tracker.services.workflow.workflow_actions import IMPLEMENTATIONS
from tracker.services.workflow.workflow_registry import definition_for
from workflows import (
    Actor,
    Engine,
    InvalidInputs,
    Plan,
    Subject,
    TransitionNotAllowed,
    TransitionOption,
    UnknownEvent,
    resolve_offset,
    to_svg,
)
from workflows.subject import DATE_KEYS

SCHEDULER = Actor(id=None, role="system", name="scheduler")

__all__ = [
    "available_transitions",
    "build_subject",
    "diagram_svg",
    "fire",
    "fire_as_scheduler",
    "options_for",
]


_ENGINES: dict[tuple[str, int, str], Engine] = {}


def engine_for(engagement: Engagement) -> Engine:
    """The engine for the exact definition version this engagement runs on."""
    definition = definition_for(engagement.workflow_name, engagement.workflow_version)
    key = (definition.name, definition.version, definition.content_hash)
    if key not in _ENGINES:
        _ENGINES[key] = Engine(definition)
    return _ENGINES[key]


def actor_for(user: User) -> Actor:
    return Actor(id=user.id, role=user.role, name=user.name)


def available_transitions(actor: User, engagement_id: int, *, today=None) -> list[TransitionOption]:
    """Every transition out of the current state, allowed or with every unmet requirement."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    subject = build_subject(engagement, today or clock.now().date())
    return options_for(actor, engagement, subject)


def options_for(actor: User, engagement: Engagement, subject: Subject) -> list[TransitionOption]:
    """The transitions out of the current state judged on a Subject already built (the
    engagement page's, from the rows it shows); the caller has checked visibility."""
    return engine_for(engagement).options(subject, actor_for(actor))


_DIAGRAMS: dict[tuple[str, int, str, str], str] = {}


def diagram_svg(engagement: Engagement) -> str:
    """The lifecycle diagram with this engagement's state highlighted (drawn once per state)."""
    definition = definition_for(engagement.workflow_name, engagement.workflow_version)
    key = (definition.name, definition.version, definition.content_hash, engagement.state)
    if key not in _DIAGRAMS:
        _DIAGRAMS[key] = to_svg(definition, current=engagement.state)
    return _DIAGRAMS[key]


def fire(
    actor: User,
    engagement_id: int,
    event: str,
    inputs: dict | None = None,
    *,
    expected_version: int | None = None,
    override_reason: str | None = None,
    now: datetime | None = None,
) -> Engagement:
    """Fire `event` for a person; refuses stale versions, unmet guards and bad inputs."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.FIRE, engagement)
    check_version(engagement, expected_version)
    inputs = _dates_from_text(engagement, event, inputs or {})
    return _fire(engagement, actor, actor_for(actor), event, inputs, override_reason, now)


def _dates_from_text(engagement: Engagement, event: str, inputs: dict) -> dict:
    """A `date` input given as ISO text (JSON has no dates) becomes a date; anything
    else is left for the engine to refuse ("Enter a date.")."""
    transition = engine_for(engagement).definition.find_transition(engagement.state, event)
    typed = dict(inputs)
    for spec in transition.inputs if transition is not None else ():
        value = typed.get(spec.name)
        if spec.type == "date" and isinstance(value, str):
            try:
                typed[spec.name] = date.fromisoformat(value.strip())
            except ValueError:
                pass
    return typed


def fire_as_scheduler(engagement_id: int, event: str, *, now: datetime | None = None) -> Engagement:
    """Fire a timer's event through the same path as a person (audit actor "scheduler")."""
    engagement = db.session.get(Engagement, engagement_id)
    if engagement is None:
        raise NotFound("Engagement not found.")
    return _fire(engagement, None, SCHEDULER, event, {}, None, now)


def _fire(engagement, user, actor, event, inputs, override_reason, now) -> Engagement:
    with losing_race_is_conflict():
        return _apply(engagement, user, actor, event, inputs, override_reason, now or clock.now())


def _apply(engagement, user, actor, event, inputs, override_reason, now) -> Engagement:
    plan = _plan(engagement, actor, event, inputs, override_reason, now)
    from_state = engagement.state
    engagement.state = plan.to_state
    for action in plan.actions:
        IMPLEMENTATIONS[action.name](engagement, action.params, now)
    if plan.is_final:
        engagement.closed_at = now
    hold = _hold_bookkeeping(engagement, plan, now)
    _replace_timers(engagement, from_state, plan, now)
    audit.record(
        engagement,
        user,
        "transition",
        event=plan.event,
        from_state=from_state,
        to_state=plan.to_state,
        reason=plan.cleaned_inputs.get("reason") or plan.override_reason,
        data=_audit_data(plan, hold),
    )
    webhook_events.queue_transition_events(engagement, user, plan, from_state)
    db.session.flush()
    commit_and_derive(now=now)
    return engagement


def _plan(engagement, actor, event, inputs, override_reason, now) -> Plan:
    """Ask the engine against fresh facts and translate its refusals into service errors."""
    subject = build_subject(engagement, now.date())
    try:
        return engine_for(engagement).plan(subject, actor, event, inputs, override_reason)
    except UnknownEvent as exc:
        raise Conflict(str(exc), errors={"event": [str(exc)]}) from exc
    except InvalidInputs as exc:
        raise ValidationFailed("The transition's inputs are invalid.", errors=exc.errors) from exc
    except TransitionNotAllowed as exc:
        if any(u.code in ("role_not_allowed", "override_not_allowed") for u in exc.unmet):
            raise Forbidden(str(exc), unmet=list(exc.unmet)) from exc
        _refuse_missing_inputs(exc.unmet)
        raise GuardFailed(
            f"'{event}' cannot be fired yet: {len(exc.unmet)} requirement(s) unmet.",
            unmet=list(exc.unmet),
        ) from exc


def _refuse_missing_inputs(unmet) -> None:
    """Guards that only want an input (e.g. a reason for an early review) are bad input:
    a 422 naming the field, so the page shows the message next to it."""
    if unmet and all((u.ref or {}).get("kind") == "input" for u in unmet):
        errors = {u.ref["name"]: [u.message + "."] for u in unmet}
        raise ValidationFailed("The transition's inputs are incomplete.", errors=errors)


def _hold_bookkeeping(engagement: Engagement, plan: Plan, now: datetime) -> dict | None:
    """Entering a hold records it; resuming moves the dates on (services.workflow.holds)."""
    if plan.pauses:
        holds.begin(engagement, plan, now)
    elif plan.resumes:
        return holds.end(engagement, plan, now)
    elif engagement.paused_from_state is not None:
        holds.clear(engagement)  # left the hold another way (terminated while on hold)
    return None


def _audit_data(plan: Plan, hold: dict | None = None) -> dict:
    data = {"inputs": {k: _plain(v) for k, v in plan.cleaned_inputs.items()}}
    if hold is not None:
        data["hold"] = hold
    if plan.overridden:
        data["overridden"] = [u.to_dict() for u in plan.overridden]
    return data


def _plain(value):
    """An input as JSON keeps it (a date input as its ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def _replace_timers(engagement: Engagement, from_state: str, plan: Plan, now: datetime) -> None:
    """Cancel the timers of the state we left; schedule the new state's timers."""
    db.session.execute(
        update(WorkflowTimer)
        .where(
            WorkflowTimer.engagement_id == engagement.id,
            WorkflowTimer.status == "pending",
            WorkflowTimer.from_state == from_state,
        )
        .values(status="cancelled")
    )
    dates = {key: getattr(engagement, key) for key in DATE_KEYS}
    for timer in plan.timers:
        day = resolve_offset(timer.at, dates)
        if day is None:
            continue
        db.session.add(
            WorkflowTimer(
                engagement_id=engagement.id,
                event=timer.event,
                from_state=plan.to_state,
                due_at=start_of_day(day),
            )
        )


def start_of_day(day) -> datetime:
    """Midnight of that date in the deployment's time zone, as a UTC instant."""
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    return datetime.combine(day, time(0), zone).astimezone(ZoneInfo("UTC"))
