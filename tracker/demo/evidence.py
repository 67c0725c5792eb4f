"""Demo evidence: 2–4 success metrics per engagement with baselines, targets on the trial's
milestones (on the line from the baseline to the final target) and weeks of measurements.

"LLM support assistant" meets its answer-accuracy target but not its business KPI (tickets
deflected), so its past milestones are suggested "missed" for a reason a manager
understands. A demo verdict that the numbers contradict gets the written reason such a
verdict now needs.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select

from tracker.auth.tokens import INGEST_PREFIX, hash_token
from tracker.extensions import db
from tracker.models import (
    FINAL_MILESTONE_STATUSES,
    Engagement,
    IngestToken,
    Measurement,
    Milestone,
    MilestoneTarget,
    MilestoneUpdate,
    SuccessMetric,
    User,
)
from tracker.services.delivery import checklists
from tracker.services.evidence import judgment, reads

# title prefix -> [(name, kind, unit, direction, baseline, final target, reach)]; reach is how
# far along the way to the target the numbers get by day 75 (1.0 = exactly there).
METRICS = {
    "Fraud": [
        ("Fraud recall at 1% FPR", "quality", "%", "higher", 62.0, 70.0, 1.1),
        ("p95 scoring latency", "latency", "ms", "lower", 180.0, 150.0, 1.0),
        ("Chargeback losses per week", "business", "EUR", "lower", 41000.0, 35000.0, 1.0),
    ],
    "Demand": [
        ("Forecast MAPE", "quality", "%", "lower", 18.5, 15.0, 1.15),
        ("Stock-outs per week", "business", "", "lower", 42.0, 30.0, 1.05),
        ("Cost per 1,000 forecasts", "cost", "EUR", "lower", 0.9, 0.6, 1.1),
    ],
    "LLM": [
        ("Answer accuracy (graded)", "quality", "%", "higher", 71.0, 85.0, 1.25),
        ("Tickets deflected", "business", "%", "higher", 8.0, 25.0, 0.22),
        ("p95 latency", "latency", "ms", "lower", 3100.0, 2000.0, 1.05),
        ("Cost per 1,000 answers", "cost", "EUR", "lower", 14.0, 9.0, 1.1),
    ],
    "Vision": [
        ("Defect detection F1", "quality", "", "higher", 0.81, 0.9, 1.1),
        ("False rejects per shift", "business", "", "lower", 35.0, 15.0, 1.05),
        ("p95 inference latency", "latency", "ms", "lower", 95.0, 60.0, 1.1),
    ],
    "Search": [
        ("NDCG@10 offline", "quality", "", "higher", 0.412, 0.44, 1.2),
        ("Click-through uplift", "business", "%", "higher", 0.0, 2.0, 1.1),
        ("p95 ranking latency", "latency", "ms", "lower", 140.0, 120.0, 1.1),
    ],
    "Churn": [
        ("Churn AUC", "quality", "", "higher", 0.74, 0.8, 1.2),
        ("Retention uplift", "business", "pp", "higher", 0.0, 1.5, 1.1),
    ],
    "Recommendations": [
        ("Recall@20", "quality", "", "higher", 0.21, 0.26, 1.1),
        ("Revenue per session uplift", "business", "%", "higher", 0.0, 3.0, 1.05),
    ],
}
EVERY = timedelta(days=3)
CONTRADICTED = (
    "Judged at the review with the client's own numbers: the measured series lagged the "
    "release by a week (see the review notes)."
)


def seed(today: date) -> None:
    """Metrics, targets and measurements for every demo engagement (a demo extension)."""
    rng = random.Random(27)
    engagements = db.session.scalars(select(Engagement).order_by(Engagement.id)).all()
    for engagement in engagements:
        specs = next((v for k, v in METRICS.items() if engagement.title.startswith(k)), None)
        if specs:
            _seed_engagement(engagement, specs, today, rng)
            db.session.flush()
            checklists.sync_bound_items(engagement)  # the engagement window follows the data
    db.session.flush()
    _reasons_for_contradicted_verdicts(engagements, today)


def _seed_engagement(engagement: Engagement, specs, today: date, rng: random.Random) -> None:
    start = engagement.trial_start or engagement.discovery_start or today
    recorder = _recorder(engagement)
    token = _token(engagement) if engagement.title.startswith("Demand") else None
    milestones = db.session.scalars(
        select(Milestone).where(Milestone.engagement_id == engagement.id)
    ).all()
    trial = [m for m in milestones if m.period == 0 and m.title.startswith(("Day-", "Trial"))]
    final_due = max((m.due_date for m in trial), default=start + timedelta(days=90))
    for name, kind, unit, direction, baseline, goal, reach in specs:
        metric = SuccessMetric(
            engagement_id=engagement.id, name=name, kind=kind, unit=unit, direction=direction,
            baseline=baseline, baseline_measured_at=start - timedelta(days=7),
            source_note="Agreed in discovery; measured by the nightly evaluation job.",
        )  # fmt: skip
        db.session.add(metric)
        db.session.flush()
        for m in milestones:
            if m.period == 0 and m not in trial:
                continue
            share = (
                1.0
                if m.period > 0
                else min(1.0, (m.due_date - start).days / max(1, (final_due - start).days))
            )
            value = round(baseline + (goal - baseline) * share, _places(baseline, goal))
            db.session.add(MilestoneTarget(milestone_id=m.id, metric_id=metric.id, target=value))
        _measure(engagement, metric, (baseline, goal, reach), start, today, rng, recorder, token)


def _measure(engagement, metric, curve, start, today, rng, recorder, token) -> None:
    baseline, goal, reach = curve
    end = min(today, engagement.closed_at.date() if engagement.closed_at else today)
    rows, day = [], start + timedelta(days=2)
    while day <= end:
        progress = min(1.0, (day - start).days / 75)
        noise = (goal - baseline) * rng.uniform(-0.04, 0.04)
        value = baseline + (goal - baseline) * reach * progress + noise
        value = round(value, _places(baseline, goal))
        when = datetime.combine(day, time(6), UTC)
        rows.append(
            {"engagement_id": engagement.id, "metric_id": metric.id, "value": value,
             "measured_at": when, "measured_on": day, "note": "", "created_at": when,
             "recorded_by_id": None if token else recorder,
             "ingest_token_id": token.id if token else None}
        )  # fmt: skip
        day += EVERY
    if rows:
        db.session.execute(insert(Measurement), rows)


def _places(baseline: float, goal: float) -> int:
    """Decimals a person would write: 2 for percentages and money, 3 for scores below 1."""
    return 3 if abs(goal - baseline) < 1 else 1 if abs(goal) >= 100 else 2


def _recorder(engagement: Engagement) -> int | None:
    return db.session.scalar(
        select(User.id).where(User.provider_id == engagement.provider_id).order_by(User.id)
    )


def _token(engagement: Engagement) -> IngestToken:
    """The pipeline's ingest token (its secret is thrown away: the demo never uses it)."""
    secret = INGEST_PREFIX + secrets.token_urlsafe(32)
    token = IngestToken(
        engagement_id=engagement.id, name="nightly-forecast-eval", token_hash=hash_token(secret),
        prefix=secret[:12], created_by_id=engagement.owner_id,
        last_used_at=datetime.now(UTC) - timedelta(hours=5),
    )  # fmt: skip
    db.session.add(token)
    db.session.flush()
    return token


def _reasons_for_contradicted_verdicts(engagements, today: date) -> None:
    """A demo verdict the measurements contradict carries the reason the API would demand."""
    ids = [e.id for e in engagements]
    final = db.session.scalars(
        select(Milestone).where(
            Milestone.engagement_id.in_(ids), Milestone.status.in_(FINAL_MILESTONE_STATUSES)
        )
    ).all()
    judged = reads.target_statuses(m.id for m in final)
    for m in final:
        if judgment.against_evidence(m.status, judged.get(m.id, [])) is None:
            continue
        verdict = db.session.scalar(
            select(MilestoneUpdate)
            .where(MilestoneUpdate.milestone_id == m.id, MilestoneUpdate.status == m.status)
            .order_by(MilestoneUpdate.id.desc())
        )
        if verdict is not None:
            verdict.reason = CONTRADICTED
