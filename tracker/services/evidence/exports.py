"""The measurements CSV: every measurement of an engagement's metrics, oldest first,
superseded ones included and marked, through the shared CSV writer (formula guard)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.extensions import db
from tracker.models import IngestToken, Measurement, MetricKind, SuccessMetric, User
from tracker.services.evidence.metrics import sees_cost
from tracker.services.exchange.csv_export import stream_csv

COLUMNS = (
    "id", "metric", "kind", "unit", "direction", "value", "measured at", "note",
    "evidence url", "recorded by", "idempotency key", "supersedes", "correction reason",
    "superseded", "recorded at",
)  # fmt: skip


def measurements_csv(actor: User, engagement_id: int) -> Iterator[str]:
    """The engagement's measurements as CSV; cost metrics only for those who see cost.

    Plain columns in one query (no objects, no lazy loads), so the stream needs nothing
    of the session once it has the rows."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.VIEW, engagement)
    later = aliased(Measurement)
    m = Measurement
    query = (
        select(m.id, SuccessMetric.name, SuccessMetric.kind, SuccessMetric.unit)
        .add_columns(SuccessMetric.direction, m.value, m.measured_at, m.note, m.evidence_url)
        .add_columns(func.coalesce(User.name, "ingest token " + IngestToken.name))
        .add_columns(m.idempotency_key, m.supersedes_id, m.correction_reason)
        .add_columns(later.id.is_not(None), m.created_at)
        .join(SuccessMetric, SuccessMetric.id == m.metric_id)
        .outerjoin(User, User.id == m.recorded_by_id)
        .outerjoin(IngestToken, IngestToken.id == m.ingest_token_id)
        .outerjoin(later, later.supersedes_id == m.id)
        .where(m.engagement_id == engagement.id)
        .order_by(m.measured_at, m.id)
    )
    if not sees_cost(actor, engagement):
        query = query.where(SuccessMetric.kind != MetricKind.COST)
    return stream_csv(COLUMNS, [list(row) for row in db.session.execute(query)])
