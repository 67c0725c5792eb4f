"""Digest subscriptions: who follows which engagements, how often and when; unsubscribing.

Anyone manages their own subscriptions; admins and managers may also subscribe
stakeholders. A subscription names engagements the subscriber may see; the
digest itself is filtered again by the subscriber's role when it is rendered.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.permissions import visible_clause
from tracker.core import clock
from tracker.errors import NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, ProviderOrganisation, Role, Subscription, User
from tracker.services.core.people import people_page, person_named
from tracker.services.core.transactions import commit_and_derive
from tracker.services.messaging.digest_period import next_send_at, schedule_of

FIELDS = ("scope", "provider_id", "frequency", "weekday", "send_time", "timezone", "is_active")
SCOPES = ("all", "provider", "chosen")
FREQUENCIES = ("daily", "weekly")
UNSUBSCRIBE_SALT = "digest-unsubscribe"
CHOOSABLE_ENGAGEMENTS = 500


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(subscription_id: int) -> str:
    """A signed token naming the subscription (no expiry: old emails keep working)."""
    return _serializer().dumps(subscription_id)


def subscription_id_from_token(token: str) -> int | None:
    """The subscription id a token names, or None when it was tampered with."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def form_choices(user: User) -> tuple[list[ProviderOrganisation], list]:
    """What the subscription form offers `user`: providers and open engagements (the
    subscriber is a picker, `subscriber_suggestions`)."""
    if user.is_provider:
        providers = [user.provider] if user.provider else []
    else:
        by_name = select(ProviderOrganisation).order_by(ProviderOrganisation.name)
        providers = list(db.session.scalars(by_name))
    engagements = db.session.execute(
        select(Engagement.id, Engagement.title)
        .where(visible_clause(user), Engagement.closed_at.is_(None))
        .order_by(Engagement.title)
        .limit(CHOOSABLE_ENGAGEMENTS)
    ).all()
    return providers, engagements


def _subscribable(user: User):
    """Whom `user` may subscribe: themselves, and stakeholders when on the client side."""
    if user.is_client_side:
        return or_(User.id == user.id, User.role == Role.STAKEHOLDER)
    return User.id == user.id


def subscriber_suggestions(user: User, text: str, page: int) -> tuple[list[str], bool]:
    """A page of the people `user` may subscribe whose name or address contains the text,
    as "Name <email>" by name, and whether there are more (the subscriber picker, issue 29)."""
    return people_page(select(User.name, User.email).where(_subscribable(user)), text, page)


def subscriber_from_text(user: User, text: str) -> int | None:
    """The subscriber the picker's text names ("Name <email>" or an address of someone
    `user` may subscribe; an id as a script posts it, checked on saving). None when it
    names nobody they may subscribe."""
    return person_named(text, _subscribable(user), id_checked_later=True)


def list_subscriptions(actor: User, *, user_id: int | None = None) -> list[Subscription]:
    """The actor's own subscriptions; admins and managers may ask for anyone's (or all)."""
    query = (
        select(Subscription)
        .options(joinedload(Subscription.user), selectinload(Subscription.engagements))
        .order_by(Subscription.user_id, Subscription.id)
    )
    if not actor.is_client_side:
        query = query.where(Subscription.user_id == actor.id)
    elif user_id is not None:
        query = query.where(Subscription.user_id == user_id)
    return list(db.session.scalars(query))


def get_subscription(actor: User, subscription_id: int) -> Subscription:
    """A subscription the actor may manage; anybody else's does not exist for them."""
    subscription = db.session.scalar(
        select(Subscription)
        .where(Subscription.id == subscription_id)
        .options(joinedload(Subscription.user))
    )
    if subscription is None or not _may_manage(actor, subscription.user):
        raise NotFound("Subscription not found.")
    return subscription


def _may_manage(actor: User, subscriber: User) -> bool:
    if actor.id == subscriber.id:
        return True
    return actor.is_client_side and subscriber.role == Role.STAKEHOLDER


def create_subscription(actor: User, data: dict, *, now: datetime | None = None) -> Subscription:
    """Subscribe the actor (or, for admins and managers, a stakeholder) to a digest."""
    subscriber = _subscriber(actor, data.get("user_id"))
    subscription = Subscription(
        user_id=subscriber.id,
        created_by_id=actor.id,
        scope="all",
        frequency="weekly",
        weekday=0,
        send_time=time(8),
        timezone=subscriber.timezone or "UTC",
        is_active=True,
    )
    subscription.user = subscriber
    _apply(actor, subscriber, subscription, data, now or clock.now())
    db.session.add(subscription)
    commit_and_derive()
    return subscription


def update_subscription(
    actor: User, subscription_id: int, data: dict, *, now: datetime | None = None
) -> Subscription:
    """Change a subscription; its next send instant is recomputed from the new schedule."""
    subscription = get_subscription(actor, subscription_id)
    _apply(actor, subscription.user, subscription, data, now or clock.now())
    commit_and_derive()
    return subscription


def delete_subscription(actor: User, subscription_id: int) -> None:
    """Remove a subscription and its run history."""
    subscription = get_subscription(actor, subscription_id)
    db.session.delete(subscription)
    commit_and_derive()


def unsubscribe(token: str) -> Subscription:
    """Deactivate the subscription a signed link names (no login needed); idempotent."""
    subscription_id = subscription_id_from_token(token or "")
    subscription = db.session.get(Subscription, subscription_id) if subscription_id else None
    if subscription is None:
        raise NotFound("This unsubscribe link is not valid.")
    if subscription.is_active:
        subscription.is_active = False
        subscription.next_due_at = None
        commit_and_derive()
    return subscription


def subscription_for_token(token: str) -> Subscription:
    """The subscription a signed link names, for the confirmation page."""
    subscription_id = subscription_id_from_token(token or "")
    subscription = db.session.get(Subscription, subscription_id) if subscription_id else None
    if subscription is None:
        raise NotFound("This unsubscribe link is not valid.")
    return subscription


def _subscriber(actor: User, user_id: int | None) -> User:
    if user_id is None or user_id == actor.id:
        return actor
    subscriber = db.session.get(User, user_id)
    if subscriber is None or not _may_manage(actor, subscriber):
        raise ValidationFailed(
            "The subscription could not be saved.",
            errors={"user_id": ["You may subscribe yourself; managers also stakeholders."]},
        )
    return subscriber


def _apply(actor: User, subscriber: User, subscription: Subscription, data: dict, now) -> None:
    """Validate the merged result of the row and the new data, then write it (no commit)."""
    merged = {name: getattr(subscription, name) for name in FIELDS}
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    if merged["frequency"] == "daily":
        merged["weekday"] = None
    chosen_ids = data.get("engagement_ids")
    errors = _field_errors(merged)
    _provider_error(actor, merged, errors)
    engagements = _chosen(actor, subscriber, merged, chosen_ids, subscription, errors)
    if errors:
        raise ValidationFailed("The subscription could not be saved.", errors=errors)
    for name, value in merged.items():
        setattr(subscription, name, value)
    if merged["scope"] != "provider":
        subscription.provider_id = None
    if engagements is not None:
        subscription.engagements = engagements
        _follow(actor, subscriber, engagements)
    subscription.next_due_at = None
    if merged["is_active"]:
        subscription.next_due_at = next_send_at(schedule_of(subscription), now)


def _field_errors(merged: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if merged["scope"] not in SCOPES:
        errors["scope"] = [f"Scope must be one of {', '.join(SCOPES)}."]
    if merged["frequency"] not in FREQUENCIES:
        errors["frequency"] = [f"Frequency must be one of {', '.join(FREQUENCIES)}."]
    weekday = merged["weekday"]
    if merged["frequency"] == "weekly" and (not isinstance(weekday, int) or not 0 <= weekday <= 6):
        errors["weekday"] = ["A weekly digest needs a weekday from 0 (Monday) to 6 (Sunday)."]
    if not isinstance(merged["send_time"], time):
        errors["send_time"] = ["Give a local send time such as 08:00."]
    try:
        ZoneInfo(str(merged["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = [f"Unknown time zone {merged['timezone']!r}."]
    return errors


def _provider_error(actor: User, merged: dict, errors: dict) -> None:
    """A provider scope names an organisation the actor may see; any other id answers like
    one that does not exist (a provider user could otherwise probe other organisations)."""
    if merged["scope"] != "provider":
        return
    provider_id = merged["provider_id"]
    if not isinstance(provider_id, int) or not _provider_visible(actor, provider_id):
        errors["provider_id"] = ["Choose an existing provider organisation."]


def _provider_visible(actor: User, provider_id: int) -> bool:
    if actor.is_client_side:
        return db.session.get(ProviderOrganisation, provider_id) is not None
    if actor.role == Role.PROVIDER:
        return actor.provider_id == provider_id
    visible = select(Engagement.id).where(
        Engagement.provider_id == provider_id, visible_clause(actor)
    )
    return db.session.scalar(visible.limit(1)) is not None


def _chosen(actor, subscriber, merged, chosen_ids, subscription, errors) -> list | None:
    """The chosen engagements, each visible to both actor and subscriber (None = unchanged)."""
    if merged["scope"] != "chosen":
        return [] if subscription.engagements else None
    if chosen_ids is None:
        if not subscription.engagements:
            errors["engagement_ids"] = ["Choose at least one engagement."]
        return None
    ids = sorted({int(i) for i in chosen_ids})
    query = select(Engagement).where(Engagement.id.in_(ids), visible_clause(actor))
    if not (actor.is_client_side and subscriber.role == Role.STAKEHOLDER):
        query = query.where(visible_clause(subscriber))
    found = list(db.session.scalars(query))
    missing = sorted(set(ids) - {e.id for e in found})
    if not ids:
        errors["engagement_ids"] = ["Choose at least one engagement."]
    elif missing:
        errors["engagement_ids"] = [f"Unknown engagement id(s): {', '.join(map(str, missing))}."]
    return found


def _follow(actor: User, subscriber: User, engagements: list[Engagement]) -> None:
    """A stakeholder subscribed by a manager follows the chosen engagements (so may see them)."""
    if subscriber.role != Role.STAKEHOLDER or not actor.is_client_side:
        return
    for engagement in engagements:
        if subscriber not in engagement.followers:
            engagement.followers.append(subscriber)
