"""Outgoing webhooks (Standard Webhooks 1.0): admin-managed endpoints, events, signatures.

An event is queued with `queue_event` inside the transaction of the change that caused
it: one `webhook_event` row plus one `webhook_delivery` row per enabled endpoint that
subscribes to its type (unique per endpoint and event). The scheduler delivers them
(tracker.notifications.webhook_delivery). Payloads never carry cost figures or internal
notes (docs/adr/0092). Only admins manage endpoints.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import socket
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, joinedload

from tracker.core import clock
from tracker.errors import Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import User, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tracker.schemas.webhook import EVENT_TYPES as WEBHOOK_EVENT_TYPES
from tracker.schemas.webhook import URL_PATTERN
from tracker.services.core.transactions import commit_and_derive

# The one list of event types lives with the schema that validates them.
EVENT_TYPES = WEBHOOK_EVENT_TYPES
TEST_EVENT = "webhook.test"
SCHEMA_VERSION = 1
SECRET_PREFIX = "whsec_"
ROTATION_OVERLAP = timedelta(hours=24)
NOT_FOUND = "Webhook endpoint not found."


# --- signatures -------------------------------------------------------------------------


def new_secret() -> str:
    """whsec_ + base64 of 24 random bytes (the spec allows 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the secret's decoded key."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(endpoint: WebhookEndpoint, message_id: str, timestamp: int, body: bytes):
    """Space-separated signatures: the current secret's, and during rotation the old one's."""
    signatures = [sign(endpoint.secret, message_id, timestamp, body)]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and _aware(until) > clock.now():
        signatures.append(sign(endpoint.previous_secret, message_id, timestamp, body))
    return " ".join(signatures)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --- target URLs (SSRF) -----------------------------------------------------------------


_URL = re.compile(URL_PATTERN)


def check_target(url: str, *, field: str = "url") -> None:
    """Refuse non-http(s) URLs, and hosts resolving to loopback, private, link-local or
    reserved addresses (cloud metadata sits at link-local 169.254.169.254) unless
    WEBHOOK_ALLOW_PRIVATE_TARGETS is on. Called at registration and before each delivery."""
    parts = _split(url, field)
    if parts.scheme != "https" and current_app.config.get("WEBHOOK_REQUIRE_HTTPS"):
        raise ValidationFailed("HTTPS required.", errors={field: ["Use an https URL."]})
    if current_app.config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS"):
        return
    for address in _addresses(parts.hostname, parts.port, field):
        if not address.is_global or address.is_multicast:
            raise ValidationFailed(
                "The URL points at a private or reserved address.",
                errors={field: [f"{parts.hostname} resolves to {address}, which is not public."]},
            )


def _split(url: str, field: str):
    """The URL's parts, or a 422: anything the schema's pattern refuses (white space,
    control or non-ASCII characters, no host, a scheme other than http(s)), or a port
    past 65535."""
    refused = ValidationFailed("Invalid webhook URL.", errors={field: ["Use an http(s) URL."]})
    if not _URL.fullmatch(url):  # as ECMA-262 reads `$`: no newline before the end
        raise refused
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for "x:abc" or a port past 65535)
    except ValueError as exc:
        raise refused from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refused
    return parts


def _addresses(host: str, port: int | None, field: str) -> list:
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise ValidationFailed(
            "The URL's host does not resolve.", errors={field: [f"{host}: {exc}"]}
        ) from exc
    found = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        found.append(address)
    return found


# --- endpoints --------------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden("Only admins manage webhooks.")


def _clean_events(events) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        message = f"Unknown event types: {', '.join(unknown)}." if unknown else "Choose events."
        raise ValidationFailed(message, errors={"events": [message]})
    return sorted(set(events))


def create_endpoint(actor: User, data: dict) -> WebhookEndpoint:
    """Register an endpoint; its secret is returned this once (and stays for signing)."""
    _require_admin(actor)
    check_target(data["url"])
    endpoint = WebhookEndpoint(
        url=data["url"],
        description=data.get("description") or "",
        events=_clean_events(data["events"]),
        secret=new_secret(),
        is_enabled=data.get("is_enabled", True),
        created_by_id=actor.id,
    )
    db.session.add(endpoint)
    commit_and_derive()
    return endpoint


def list_endpoints(actor: User) -> list[WebhookEndpoint]:
    _require_admin(actor)
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(actor: User, endpoint_id: int) -> WebhookEndpoint:
    _require_admin(actor)
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(NOT_FOUND)
    return endpoint


def update_endpoint(actor: User, endpoint_id: int, data: dict) -> WebhookEndpoint:
    """Change URL, events, description or enabled; re-enabling clears the failure record."""
    endpoint = get_endpoint(actor, endpoint_id)
    if "url" in data:
        check_target(data["url"])
        endpoint.url = data["url"]
    if "events" in data:
        endpoint.events = _clean_events(data["events"])
    if "description" in data:
        endpoint.description = data["description"] or ""
    if "is_enabled" in data:
        if data["is_enabled"] and not endpoint.is_enabled:
            endpoint.failing_since, endpoint.disabled_reason = None, None
        endpoint.is_enabled = data["is_enabled"]
    commit_and_derive()
    return endpoint


def delete_endpoint(actor: User, endpoint_id: int) -> None:
    """Remove the endpoint with its delivery log."""
    db.session.delete(get_endpoint(actor, endpoint_id))
    commit_and_derive()


def rotate_secret(actor: User, endpoint_id: int) -> WebhookEndpoint:
    """A new secret; for 24 hours deliveries carry signatures by both the old and the new."""
    endpoint = get_endpoint(actor, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = clock.now() + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    commit_and_derive()
    return endpoint


# --- events and deliveries --------------------------------------------------------------


def envelope(event_type: str, data: dict, at: datetime) -> dict:
    """The versioned JSON body every endpoint receives."""
    stamp = at.isoformat()
    return {"type": event_type, "timestamp": stamp, "version": SCHEMA_VERSION, "data": data}


# Built once: every change that is a webhook event asks it (its cache key is kept).
_ENABLED = select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.is_enabled)


def queue_event(
    session: Session, event_type: str, data: dict, *, engagement_id: int | None = None
) -> int:
    """Write the event and its deliveries in the caller's transaction; returns deliveries made.

    Core statements on the session's connection, so this also works inside a flush hook.
    Nothing is written when no enabled endpoint subscribes to the type.
    """
    connection = session.connection()
    endpoints = [e_id for e_id, events in _enabled(session, connection) if event_type in events]
    if not endpoints:
        return 0
    return _write(connection, event_type, data, engagement_id, endpoints)


# session.info key: the enabled endpoints and their event types, as this unit of work read
# them. A milestone update queues two events (the milestone's, then its engagement's
# health) in two flushes: one read, not one per event (issue 29). The unit of work's end
# forgets it, and so does any change to an endpoint made through the session (ADR 0250).
ENABLED_READ = "webhooks.enabled_endpoints"


def _enabled(session: Session, connection) -> list[tuple[int, list[str]]]:
    held = session.info.get(ENABLED_READ)
    if held is None:
        held = [(row.id, row.events or []) for row in connection.execute(_ENABLED)]
        session.info[ENABLED_READ] = held
    return held


def forget_enabled_endpoints(session: Session, *args) -> None:
    """After a commit or a rollback (a savepoint's too): the next event reads again."""
    session.info.pop(ENABLED_READ, None)


def forget_enabled_endpoints_after_flush(session: Session, flush_context) -> None:
    """A flush that wrote an endpoint: this flush's events and the later ones read again.
    Installed ahead of the flush's webhook rows (derived.py); looks only at the states
    the flush wrote, not at the whole session."""
    if ENABLED_READ in session.info and any(
        state.class_ is WebhookEndpoint for state in flush_context.states
    ):
        session.info.pop(ENABLED_READ, None)


def _write(connection, event_type, data, engagement_id, endpoint_ids) -> int:
    now = clock.now()
    uid = uuid.uuid4().hex
    event_id = connection.execute(
        insert(WebhookEvent).values(
            uid=uid,
            type=event_type,
            engagement_id=engagement_id,
            payload=envelope(event_type, data, now),
            created_at=now,
        )
    ).inserted_primary_key[0]
    connection.execute(
        insert(WebhookDelivery),
        [
            {
                "endpoint_id": endpoint_id,
                "event_id": event_id,
                "message_id": f"msg_{uid}_{endpoint_id}",
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint_id in endpoint_ids
        ],
    )
    return len(endpoint_ids)


def send_test_event(actor: User, endpoint_id: int) -> WebhookDelivery:
    """Queue a `webhook.test` event for this endpoint only (delivered by the next tick)."""
    endpoint = get_endpoint(actor, endpoint_id)
    _write(db.session.connection(), TEST_EVENT, {"endpoint_id": endpoint.id}, None, [endpoint.id])
    commit_and_derive()
    return db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(1)
    ).one()


def list_deliveries(actor: User, endpoint_id: int, *, limit: int = 100) -> list[WebhookDelivery]:
    """The endpoint's most recent deliveries, newest first, with their events."""
    endpoint = get_endpoint(actor, endpoint_id)
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .options(joinedload(WebhookDelivery.event))
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def redeliver(actor: User, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again (same webhook-id) on the next tick, whatever its status."""
    _require_admin(actor)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound("Webhook delivery not found.")
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id)
        .values(status="pending", next_attempt_at=clock.now(), lease_until=None, claimed_by=None),
        execution_options={"synchronize_session": "fetch"},
    )
    commit_and_derive()
    db.session.refresh(delivery)
    return delivery


def delivery_counts(endpoint_ids: list[int]) -> dict[tuple[int, str], int]:
    """(endpoint id, status) -> number of deliveries, for the admin list (one GROUP BY)."""
    rows = db.session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
        .where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)
    )
    return {(endpoint_id, status): count for endpoint_id, status, count in rows}
