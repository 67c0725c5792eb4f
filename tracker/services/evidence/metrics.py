"""Success metrics and milestone targets: defined by managers and admins, every change audited.

Providers may read the metrics of their own engagements except cost metrics (cost is
hidden from them); an ingest token reads its own engagement's metrics only.
"""

from __future__ import annotations

import math
from datetime import date

from sqlalchemy import select

from tracker.auth.permissions import Action, can, get_visible_engagement, require
from tracker.core import clock
from tracker.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    Engagement,
    IngestToken,
    MetricDirection,
    MetricKind,
    Milestone,
    MilestoneTarget,
    SuccessMetric,
    User,
)
from tracker.services.change_requests import rules as change_rules
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive, losing_race_is_conflict
from tracker.services.delivery import checklists
from tracker.services.evidence.reads import target_statuses

METRIC_FIELDS = ("name", "kind", "unit", "direction", "baseline", "baseline_measured_at")
METRIC_FIELDS += ("source_note",)
NAME_MAX, UNIT_MAX, NOTE_MAX = 200, 40, 5000
METRIC_MISSING = "Metric not found."

Principal = User | IngestToken


def engagement_for(principal: Principal, engagement_id: int) -> Engagement:
    """The engagement as this caller may see it; another engagement answers 404."""
    if isinstance(principal, IngestToken):
        if principal.engagement_id != engagement_id:
            raise NotFound("Engagement not found.")
        return db.session.get(Engagement, engagement_id)
    return get_visible_engagement(db.session, principal, engagement_id)


def sees_cost(principal: Principal, engagement: Engagement) -> bool:
    return isinstance(principal, IngestToken) or can(principal, Action.VIEW_COST, engagement)


def metric_for(principal: Principal, metric_id: int) -> tuple[SuccessMetric, Engagement]:
    """A live metric this caller may see (a cost metric is invisible to providers)."""
    metric = db.session.get(SuccessMetric, metric_id)
    if metric is None or metric.is_removed:
        raise NotFound(METRIC_MISSING)
    try:
        engagement = engagement_for(principal, metric.engagement_id)
    except NotFound:
        raise NotFound(METRIC_MISSING) from None
    if metric.kind == MetricKind.COST and not sees_cost(principal, engagement):
        raise NotFound(METRIC_MISSING)
    return metric, engagement


def list_metrics(principal: Principal, engagement_id: int) -> list[SuccessMetric]:
    """The engagement's live metrics, oldest first."""
    engagement = engagement_for(principal, engagement_id)
    query = select(SuccessMetric).where(
        SuccessMetric.engagement_id == engagement.id, SuccessMetric.removed_at.is_(None)
    )
    if not sees_cost(principal, engagement):
        query = query.where(SuccessMetric.kind != MetricKind.COST)
    return list(db.session.scalars(query.order_by(SuccessMetric.id)))


def _problems(data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "name" in data and not (data["name"] or "").strip():
        errors["name"] = ["Give the metric a name."]
    if "name" in data and len(data["name"] or "") > NAME_MAX:
        errors["name"] = [f"At most {NAME_MAX} characters."]
    if "kind" in data and data["kind"] not in {k.value for k in MetricKind}:
        errors["kind"] = [f"Choose one of {', '.join(k.value for k in MetricKind)}."]
    if "direction" in data and data["direction"] not in {d.value for d in MetricDirection}:
        errors["direction"] = [f"Choose one of {', '.join(d.value for d in MetricDirection)}."]
    if len(data.get("unit") or "") > UNIT_MAX:
        errors["unit"] = [f"At most {UNIT_MAX} characters."]
    if len(data.get("source_note") or "") > NOTE_MAX:
        errors["source_note"] = [f"At most {NOTE_MAX} characters."]
    baseline = data.get("baseline")
    if baseline is not None and not is_finite(baseline):
        errors["baseline"] = ["Give a finite number."]
    when = data.get("baseline_measured_at")
    if when is not None and (not isinstance(when, date) or when > clock.now().date()):
        errors["baseline_measured_at"] = ["Give a date that is not in the future."]
    return errors


def is_finite(value) -> bool:
    """A real, finite number (not a bool, NaN or an infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _editable(actor: User, engagement: Engagement) -> None:
    require(actor, Action.EDIT, engagement)
    if engagement.is_closed:
        raise Conflict("The engagement is closed; its metrics are final.")


def create_metric(actor: User, engagement_id: int, data: dict) -> SuccessMetric:
    """Define a success metric (managers and admins)."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    _editable(actor, engagement)
    missing = {f: ["Missing data for required field."] for f in ("name", "kind", "direction")}
    errors = {f: m for f, m in missing.items() if f not in data} | _problems(data)
    if errors:
        raise ValidationFailed("The metric could not be saved.", errors=errors)
    metric = SuccessMetric(
        engagement_id=engagement.id, **{k: data[k] for k in METRIC_FIELDS if k in data}
    )
    metric.name = metric.name.strip()
    db.session.add(metric)
    db.session.flush()
    audit.record(
        engagement,
        actor,
        "metric_added",
        data={"metric_id": metric.id, "name": metric.name, "baseline": metric.baseline},
    )
    _after_change(engagement)
    return metric


def update_metric(
    actor: User, metric_id: int, data: dict, expected_version: int | None = None
) -> SuccessMetric:
    """Change a metric's definition; a stale If-Match is a 412, a lost race a 409."""
    metric, engagement = metric_for(actor, metric_id)
    _editable(actor, engagement)
    if expected_version is not None and metric.version != expected_version:
        raise StaleVersion(
            "Someone changed this metric since you loaded it; reload and try again.",
            errors={"version": [f"expected {expected_version}, current {metric.version}"]},
        )
    if errors := _problems(data):
        raise ValidationFailed("The metric could not be saved.", errors=errors)
    context = {"metric_id": metric.id, "title": metric.name}
    if audit.record_changes(
        engagement, actor, "metric_edited", metric, data, METRIC_FIELDS, **context
    ):
        with losing_race_is_conflict():
            _after_change(engagement)
    return metric


def remove_metric(actor: User, metric_id: int, expected_version: int | None = None) -> None:
    """Remove a metric: its measurements stay (append-only), it leaves every judgment."""
    metric, engagement = metric_for(actor, metric_id)
    _editable(actor, engagement)
    if expected_version is not None and metric.version != expected_version:
        raise StaleVersion("Someone changed this metric since you loaded it.")
    metric.removed_at = clock.now()
    audit.record(
        engagement, actor, "metric_removed", data={"metric_id": metric.id, "name": metric.name}
    )
    with losing_race_is_conflict():
        _after_change(engagement)


def _after_change(engagement: Engagement) -> None:
    """Bound checklist items and health follow the evidence; one commit for it all."""
    db.session.flush()
    checklists.sync_bound_items(engagement)
    commit_and_derive()


def _target_parts(actor: User, milestone_id: int, metric_id: int):
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None or milestone.is_removed:
        raise NotFound("Milestone not found.")
    engagement = get_visible_engagement(
        db.session, actor, milestone.engagement_id, missing="Milestone not found."
    )
    _editable(actor, engagement)
    metric = db.session.get(SuccessMetric, metric_id)
    if metric is None or metric.is_removed or metric.engagement_id != engagement.id:
        raise ValidationFailed(
            "That metric is not one of this engagement's.",
            errors={"metric_id": ["Not a metric of this milestone's engagement."]},
        )
    return milestone, engagement, metric


def set_target(actor: User, milestone_id: int, metric_id: int, value) -> MilestoneTarget:
    """Set (or change) the target a metric must reach by the milestone's due date."""
    milestone, engagement, metric = _target_parts(actor, milestone_id, metric_id)
    if not is_finite(value):
        raise ValidationFailed("The target must be a number.", errors={"target": ["Finite."]})
    target = db.session.scalar(
        select(MilestoneTarget).where(
            MilestoneTarget.milestone_id == milestone.id, MilestoneTarget.metric_id == metric.id
        )
    )
    before = target.target if target else None
    if before != float(value):
        change_rules.refuse_direct(engagement, {"target": "milestone_targets"})
    if target is None:
        target = MilestoneTarget(milestone_id=milestone.id, metric_id=metric.id, target=value)
        db.session.add(target)
    target.target = float(value)
    audit.record(
        engagement,
        actor,
        "target_set",
        data={
            "milestone_id": milestone.id,
            "title": milestone.title,
            "metric_id": metric.id,
            "name": metric.name,
            "from": before,
            "to": float(value),
        },
    )
    _after_change(engagement)
    return target


def remove_target(actor: User, milestone_id: int, metric_id: int) -> None:
    milestone, engagement, metric = _target_parts(actor, milestone_id, metric_id)
    target = db.session.scalar(
        select(MilestoneTarget).where(
            MilestoneTarget.milestone_id == milestone.id, MilestoneTarget.metric_id == metric.id
        )
    )
    if target is None:
        raise NotFound("Target not found.")
    change_rules.refuse_direct(engagement, {"target": "milestone_targets"})
    db.session.delete(target)
    audit.record(
        engagement,
        actor,
        "target_removed",
        data={"milestone_id": milestone.id, "title": milestone.title, "name": metric.name},
    )
    _after_change(engagement)


def judged_target(actor: User, milestone_id: int, metric_id: int):
    """The milestone's target for this metric, judged from the measurements."""
    milestone, _, metric = _target_parts(actor, milestone_id, metric_id)
    judged = target_statuses([milestone.id]).get(milestone.id, [])
    found = next((t for t in judged if t.metric_id == metric.id), None)
    if found is None:
        raise NotFound("Target not found.")
    return found
