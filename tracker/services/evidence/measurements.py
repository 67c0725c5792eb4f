"""Recording measurements: one, or a batch of up to 1,000, all or nothing, idempotent.

Append-only (docs/adr/0184): a correction is a new measurement naming the one it
supersedes and why. An idempotency key is unique per engagement: the same key with the
same body again records nothing new; with another body it is a 409 and nothing is
stored. Two posters racing with the same keys meet at the unique index; the loser rolls
back and replays its batch, which then finds the winner's rows.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from tracker.auth.permissions import Action, can
from tracker.core import clock
from tracker.errors import Conflict, Forbidden, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, IngestToken, Measurement, Milestone, SuccessMetric
from tracker.services.core.transactions import commit_and_derive
from tracker.services.evidence import reads
from tracker.services.evidence.metrics import (
    Principal,
    engagement_for,
    is_finite,
    list_metrics,
    metric_for,
)
from tracker.services.messaging import webhooks

BATCH_MAX = 1000
KEY_MAX, NOTE_MAX, URL_MAX = 200, 5000, 1000
CLOCK_SKEW = timedelta(minutes=1)  # a pipeline's clock a little ahead is not "the future"


def _may_record(principal: Principal, engagement: Engagement) -> None:
    if isinstance(principal, IngestToken):
        return
    if not can(principal, Action.UPDATE_MILESTONE, engagement):
        raise Forbidden(f"Your role ({principal.role}) may not record measurements.")


def _open(engagement: Engagement) -> None:
    if engagement.is_closed:
        raise Conflict(
            "The engagement is closed; it takes no more measurements.",
            errors={"engagement_id": ["The engagement is closed."]},
        )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def body_hash(item: dict) -> str:
    """The fingerprint of a measurement as sent (defaults not filled in)."""
    when = item.get("measured_at")
    body = {
        "metric_id": item.get("metric_id"),
        "value": item.get("value"),
        "measured_at": _utc(when).isoformat() if when else None,
        "note": item.get("note") or "",
        "evidence_url": item.get("evidence_url") or None,
        "supersedes_id": item.get("supersedes_id"),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _item_errors(item: dict, metric_ids: set[int], now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if item.get("metric_id") not in metric_ids:
        errors["metric_id"] = ["Not a metric of this engagement."]
    if not is_finite(item.get("value")):
        errors["value"] = ["Give a finite number (not NaN, Infinity or text)."]
    when = item.get("measured_at")
    if when is not None and _utc(when) > now + CLOCK_SKEW:
        errors["measured_at"] = ["A measurement cannot be taken in the future."]
    if len(item.get("note") or "") > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX} characters."]
    if (url := item.get("evidence_url")) and (
        urlsplit(url).scheme not in ("http", "https") or len(url) > URL_MAX
    ):
        errors["evidence_url"] = ["Give an http(s) link."]
    key = item.get("idempotency_key")
    if key is not None and not (0 < len(key) <= KEY_MAX):
        errors["idempotency_key"] = [f"1–{KEY_MAX} characters."]
    return errors


def _row(item: dict, engagement: Engagement, principal: Principal, now: datetime) -> dict:
    when = _utc(item["measured_at"]) if item.get("measured_at") else now
    is_token = isinstance(principal, IngestToken)
    return {
        "engagement_id": engagement.id,
        "metric_id": item["metric_id"],
        "value": float(item["value"]),
        "measured_at": when,
        "measured_on": when.date(),
        "note": item.get("note") or "",
        "evidence_url": item.get("evidence_url") or None,
        "recorded_by_id": None if is_token else principal.id,
        "ingest_token_id": principal.id if is_token else None,
        "idempotency_key": item.get("idempotency_key"),
        "body_hash": body_hash(item) if item.get("idempotency_key") else None,
        "supersedes_id": item.get("supersedes_id"),
        "correction_reason": item.get("correction_reason"),
        "created_at": now,
    }


def _field(index: int | None, name: str) -> str:
    """An error's field: "value" for a single measurement, "measurements.3.value" in a batch."""
    return name if index is None else f"measurements.{index}.{name}"


def _replayed(engagement_id: int, rows: list[dict], single: bool) -> set[str]:
    """Keys already stored with the same body; raises 409 for a key with another body."""
    keys = {r["idempotency_key"]: i for i, r in enumerate(rows) if r["idempotency_key"]}
    if not keys:
        return set()
    stored = dict(
        db.session.execute(
            select(Measurement.idempotency_key, Measurement.body_hash).where(
                Measurement.engagement_id == engagement_id,
                Measurement.idempotency_key.in_(list(keys)),
            )
        ).all()
    )
    clashes = {
        _field(None if single else keys[k], "idempotency_key"): [
            "Used before with a different body."
        ]
        for k, digest in stored.items()
        if digest != rows[keys[k]]["body_hash"]
    }
    if clashes:
        raise Conflict(
            "An idempotency key was used before with a different body; nothing was stored.",
            errors=clashes,
        )
    return set(stored)


def _check_duplicates_within(rows: list[dict]) -> None:
    seen: dict[str, str] = {}
    errors = {}
    for index, row in enumerate(rows):
        key = row["idempotency_key"]
        if key is None:
            continue
        if key in seen and seen[key] != row["body_hash"]:
            errors[f"measurements.{index}.idempotency_key"] = ["Repeated with a different body."]
        seen.setdefault(key, row["body_hash"])
    if errors:
        raise Conflict("An idempotency key repeats with a different body.", errors=errors)


def _validate(principal, engagement, items, single) -> tuple[list[dict], datetime]:
    if len(items) > BATCH_MAX:
        raise ValidationFailed(
            f"At most {BATCH_MAX} measurements per request.",
            errors={"measurements": [f"At most {BATCH_MAX} items."]},
        )
    now = clock.now()
    metric_ids = {m.id for m in list_metrics(principal, engagement.id)}
    errors = {}
    for index, item in enumerate(items):
        for field, messages in _item_errors(item, metric_ids, now).items():
            errors[_field(None if single else index, field)] = messages
    if errors:
        raise ValidationFailed("No measurement was stored; see errors.", errors=errors)
    rows = [_row(item, engagement, principal, now) for item in items]
    _check_duplicates_within(rows)
    return rows, now


def _store(principal, engagement, rows, single) -> tuple[int, int]:
    """Insert what is new; (recorded, replayed). Raises IntegrityError on a lost race."""
    replayed = _replayed(engagement.id, rows, single)
    fresh, seen = [], set(replayed)
    for row in rows:
        key = row["idempotency_key"]
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        fresh.append(row)
    if fresh:
        db.session.execute(insert(Measurement), fresh)
    return len(fresh), len(rows) - len(fresh)


def record_batch(
    principal: Principal, engagement_id: int, items: list[dict], *, single: bool = False
) -> dict:
    """Record many measurements at once: all or nothing; returns {recorded, replayed}."""
    engagement = engagement_for(principal, engagement_id)
    _may_record(principal, engagement)
    _open(engagement)
    rows, now = _validate(principal, engagement, items, single)
    before = _suggestions(engagement, now)
    for attempt in (1, 2):
        try:
            recorded, replayed = _store(principal, engagement, rows, single)
            if recorded:
                _after_recording(principal, engagement, rows, recorded, before, now)
            commit_and_derive(now=now, retry_races=True)
            return {"recorded": recorded, "replayed": replayed}
        except (IntegrityError, StaleDataError):
            # A concurrent poster stored a key first, or refreshed the engagement's cached
            # health under us: roll back and replay once, which then finds its rows.
            db.session.rollback()
            if attempt == 2:
                raise
            engagement = engagement_for(principal, engagement_id)
    raise AssertionError("unreachable")


def record_one(principal: Principal, metric_id: int, item: dict) -> Measurement:
    """Record one measurement of a metric (or a correction superseding an earlier one)."""
    metric, engagement = metric_for(principal, metric_id)
    item = {**item, "metric_id": metric.id}
    if item.get("supersedes_id") is not None:
        _check_correction(metric, item)
    key = item.get("idempotency_key")
    result = record_batch(principal, engagement.id, [item], single=True)
    query = select(Measurement).options(
        joinedload(Measurement.recorded_by), joinedload(Measurement.ingest_token)
    )
    if key is not None:
        query = query.where(
            Measurement.engagement_id == engagement.id, Measurement.idempotency_key == key
        )
    else:
        query = query.where(Measurement.metric_id == metric.id).order_by(Measurement.id.desc())
    found = db.session.scalars(query.limit(1)).first()
    found.replayed = result["replayed"] > 0
    return found


def _check_correction(metric: SuccessMetric, item: dict) -> None:
    earlier = db.session.get(Measurement, item["supersedes_id"])
    if earlier is None or earlier.metric_id != metric.id:
        raise ValidationFailed(
            "A correction supersedes a measurement of the same metric.",
            errors={"supersedes_id": ["Not a measurement of this metric."]},
        )
    if not (item.get("correction_reason") or "").strip():
        raise ValidationFailed(
            "Say why the measurement is corrected.",
            errors={"correction_reason": ["Required with supersedes_id."]},
        )
    if db.session.scalar(select(Measurement.id).where(Measurement.supersedes_id == earlier.id)):
        raise Conflict(
            "That measurement was already corrected; correct the correction instead.",
            errors={"supersedes_id": ["Already superseded."]},
        )
    item.setdefault("measured_at", earlier.measured_at)
    if item.get("measured_at") is None:
        item["measured_at"] = earlier.measured_at


def list_measurements(principal: Principal, metric_id: int, *, limit: int = 1000) -> list:
    """A metric's measurements, newest first, corrections and superseded ones included."""
    metric, _ = metric_for(principal, metric_id)
    return list(
        db.session.scalars(
            select(Measurement)
            .where(Measurement.metric_id == metric.id)
            .options(joinedload(Measurement.recorded_by), joinedload(Measurement.ingest_token))
            .order_by(Measurement.measured_at.desc(), Measurement.id.desc())
            .limit(limit)
        )
    )


def _live_milestones(engagement: Engagement) -> list[Milestone]:
    return list(
        db.session.scalars(
            select(Milestone).where(
                Milestone.engagement_id == engagement.id, Milestone.removed_at.is_(None)
            )
        )
    )


def _suggestions(engagement: Engagement, now: datetime) -> dict:
    return reads.suggestions(_live_milestones(engagement), now.date())


def _after_recording(principal, engagement, rows, recorded, before, now) -> None:
    """One measurement.recorded event per batch; changed suggestions (health follows at
    the commit, like every derived value: services/derived.py)."""
    session = db.session()
    ref = {"id": engagement.id, "title": engagement.title, "state": engagement.state}
    counts: dict[int, int] = {}
    for row in rows:
        counts[row["metric_id"]] = counts.get(row["metric_id"], 0) + 1
    by = principal.name if isinstance(principal, IngestToken) else principal.email
    data = {"engagement": ref, "recorded": recorded, "metrics": counts, "recorded_by": by}
    webhooks.queue_event(session, "measurement.recorded", data, engagement_id=engagement.id)
    milestones = _live_milestones(engagement)
    after = reads.suggestions(milestones, now.date())
    for m in milestones:
        if m.id in before and before[m.id].verdict != after[m.id].verdict:
            change = {
                "engagement": ref,
                "milestone": {"id": m.id, "title": m.title, "due_date": m.due_date.isoformat()},
                "from": before[m.id].verdict,
                "to": after[m.id].verdict,
            }  # no reasons: they carry measured values, and cost figures never leave
            webhooks.queue_event(
                session, "milestone.suggested_verdict_changed", change, engagement_id=engagement.id
            )
