"""Personal iCalendar feeds (RFC 5545): the secret URL, who sees what, and a cheap freshness probe.

A feed URL carries a secret derived as HMAC(SECRET_KEY, nonce); the database keeps the
nonce and the secret's SHA-256, so a copy of the database alone opens no feed, yet the
owner can be shown their URL again. Rotating draws a new nonce: the old URL is gone at
once (docs/adr/0090). The events themselves are built in `calendar_events`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from tracker.auth.permissions import visible_clause
from tracker.core import clock
from tracker.errors import NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import (
    CalendarFeed,
    ChecklistItem,
    Engagement,
    Milestone,
    ProviderOrganisation,
    ShadowAssignment,
    User,
    WorkflowTimer,
    engagement_follower,
)
from tracker.services.core.transactions import commit_and_derive

SECRET_PREFIX = "cal_"
SECRET_LENGTH = len(SECRET_PREFIX) + 43  # 32 bytes, URL-safe base64 without padding
SCOPES = ("mine", "all")
FEED_NOT_FOUND = "Calendar feed not found."
# Calendar clients show what is coming; events older than this are left out of the feed
# (a 10,000-engagement "all" feed would otherwise carry every milestone ever planned).
HISTORY = timedelta(days=90)


def _secret_for(nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"calendar-feed:{nonce}".encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_nonce(feed: CalendarFeed) -> None:
    feed.nonce = secrets.token_hex(16)
    feed.secret_hash = _hash(_secret_for(feed.nonce))


def feed_url(feed: CalendarFeed, engagement_id: int | None = None) -> str:
    """The absolute URL a calendar client subscribes to (BASE_URL + the secret)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    secret = _secret_for(feed.nonce)
    if engagement_id is not None:
        return f"{base}/calendar/{secret}/engagements/{engagement_id}.ics"
    return f"{base}/calendar/{secret}.ics"


def get_or_create_feed(actor: User) -> CalendarFeed:
    """The user's feed, created (and committed) on first use; a concurrent creator wins."""
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == actor.id))
    if feed is not None:
        return feed
    feed = CalendarFeed(user_id=actor.id, scope="mine")
    _new_nonce(feed)
    db.session.add(feed)
    try:
        commit_and_derive()
    except IntegrityError:  # another request created it first: use theirs
        db.session.rollback()
        feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == actor.id))
    return feed


def rotate_feed(actor: User) -> CalendarFeed:
    """Give the user a new feed secret; the previous URL answers 404 from now on."""
    feed = get_or_create_feed(actor)
    _new_nonce(feed)
    feed.rotated_at = clock.now()
    commit_and_derive()
    return feed


def set_scope(actor: User, scope: str) -> CalendarFeed:
    """Managers and admins choose "mine" (owned or followed) or "all" engagements."""
    if scope not in SCOPES or (scope == "all" and not actor.is_client_side):
        allowed = SCOPES if actor.is_client_side else ("mine",)
        raise ValidationFailed(
            "Choose which engagements the feed holds.",
            errors={"scope": [f"Choose one of: {', '.join(allowed)}."]},
        )
    feed = get_or_create_feed(actor)
    feed.scope = scope
    commit_and_derive()
    return feed


def feed_for_secret(secret: str) -> CalendarFeed:
    """The feed (with its user loaded) behind a URL secret; NotFound otherwise, and for a
    user who may not sign in (deactivated, or of a deactivated organisation)."""
    if len(secret) != SECRET_LENGTH or not secret.startswith(SECRET_PREFIX):
        raise NotFound(FEED_NOT_FOUND)
    feed = db.session.scalar(
        select(CalendarFeed)
        .join(User, User.id == CalendarFeed.user_id)
        .outerjoin(ProviderOrganisation, User.provider_id == ProviderOrganisation.id)
        .options(contains_eager(CalendarFeed.user).contains_eager(User.provider))
        .where(CalendarFeed.secret_hash == _hash(secret), User.is_active.is_(True))
    )
    if feed is None or not feed.user.can_sign_in:
        raise NotFound(FEED_NOT_FOUND)
    return feed


@dataclass(frozen=True)
class FeedScope:
    """Which engagements a feed holds for its user, and (optionally) just one of them."""

    user: User
    clause: ColumnElement[bool]
    engagement_id: int | None = None
    since: date | None = None  # events before this day are left out (HISTORY)


def scope_for(feed: CalendarFeed, engagement_id: int | None = None) -> FeedScope:
    """Managers: owned or followed (or all); providers: their organisation's; others: followed.

    A per-engagement feed is for the client side only and for an engagement they may see;
    anything else answers exactly like a missing feed.
    """
    user = feed.user
    visible = visible_clause(user)
    since = clock.now().date() - HISTORY
    if engagement_id is not None:
        if not user.is_client_side:
            raise NotFound(FEED_NOT_FOUND)
        clause = and_(visible, Engagement.id == engagement_id)
        return FeedScope(user, clause, engagement_id, since)
    if user.is_client_side and feed.scope != "all":
        followed = select(engagement_follower.c.engagement_id).where(
            engagement_follower.c.user_id == user.id
        )
        clause = or_(Engagement.owner_id == user.id, Engagement.id.in_(followed))
        return FeedScope(user, clause, since=since)
    return FeedScope(user, visible, since=since)


def scoped_ids(scope: FeedScope):
    """The scoped engagement ids as a subquery (an IN, never a list of ids in Python)."""
    return select(Engagement.id).where(scope.clause)


def visible_ids(scope: FeedScope):
    """Engagements the user may see at all (and only this feed's one, if it has one)."""
    engagements = select(Engagement.id).where(visible_clause(scope.user))
    if scope.engagement_id is not None:
        engagements = engagements.where(Engagement.id == scope.engagement_id)
    return engagements


def owned_items_clause(scope: FeedScope) -> ColumnElement[bool]:
    """Checklist items the user owns with a due date, on engagements they may see."""
    return and_(
        ChecklistItem.owner_id == scope.user.id,
        ChecklistItem.due_date.is_not(None),
        ChecklistItem.engagement_id.in_(visible_ids(scope)),
    )


def shadow_clause(scope: FeedScope) -> ColumnElement[bool]:
    """Dated shadow assignments in scope, or where the user is the shadow (and may see it)."""
    mine = and_(
        ShadowAssignment.shadow_id == scope.user.id,
        ShadowAssignment.engagement_id.in_(visible_ids(scope)),
    )
    return and_(
        ShadowAssignment.end_date.is_not(None),
        or_(ShadowAssignment.engagement_id.in_(scoped_ids(scope)), mine),
    )


def freshness(scope: FeedScope) -> tuple:
    """Everything whose change alters the feed, in ONE small aggregate query.

    Counts catch removals; maximum timestamps and ids catch edits and additions.
    Health refreshed by the scheduler moves `health_computed_at`, so it counts too.
    """
    ids = scoped_ids(scope)

    def value(column, *where):
        return select(column).where(*where).scalar_subquery()

    probe = select(
        value(func.count(Engagement.id), scope.clause),
        value(func.max(Engagement.updated_at), scope.clause),
        value(func.max(Engagement.health_computed_at), scope.clause),
        value(func.count(Milestone.id), Milestone.engagement_id.in_(ids)),
        value(func.max(Milestone.updated_at), Milestone.engagement_id.in_(ids)),
        value(func.count(WorkflowTimer.id), WorkflowTimer.engagement_id.in_(ids)),
        value(func.max(WorkflowTimer.id), WorkflowTimer.engagement_id.in_(ids)),
        value(func.count(ChecklistItem.id), owned_items_clause(scope)),
        value(func.max(ChecklistItem.updated_at), owned_items_clause(scope)),
        value(func.count(ShadowAssignment.id), shadow_clause(scope)),
        value(func.max(ShadowAssignment.id), shadow_clause(scope)),
        value(func.max(ShadowAssignment.signed_off_at), shadow_clause(scope)),
        value(func.max(ShadowAssignment.end_date), shadow_clause(scope)),
    )
    values = tuple(db.session.execute(probe).one())
    if scope.engagement_id is not None and values[0] == 0:
        raise NotFound(FEED_NOT_FOUND)  # a missing or invisible engagement: same answer
    return values


def etag_for(feed: CalendarFeed, scope: FeedScope, probe: tuple) -> str:
    """A strong validator over the user, the feed's settings and the probe's values."""
    user = scope.user
    material = repr(
        (
            feed.nonce,
            feed.scope,
            user.role,
            user.provider_id,
            scope.engagement_id,
            scope.since,
            current_app.config["BASE_URL"],
            probe,
        )
    )
    return hashlib.sha256(material.encode()).hexdigest()[:40]


def last_modified(feed: CalendarFeed, probe: tuple) -> datetime:
    """The newest timestamp among the probe's values (or the feed's own change)."""
    stamps = [v for v in probe if isinstance(v, datetime)]
    stamps.append(feed.rotated_at or feed.created_at)
    return max(_aware(s) for s in stamps if s is not None)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
