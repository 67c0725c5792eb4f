"""Admin user management: invitations and resets by single-use link, edits, deactivation,
the last-admin guard (TEST_DB=sqlite or postgres, fixed clock). Provider organisations are
in test_providers.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, make_engagement, make_user
from tests.support.concurrency import run_at_once
from tests.support.scheduler import frozen
from tracker.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import ApiToken, AuditEvent, CalendarFeed, OutboxEmail, PasswordLink, User
from tracker.services.administration import password_links, providers, user_admin
from tracker.services.administration import users as user_service
from tracker.services.administration.password_links import LinkRefused
from tracker.services.exchange import calendar_feed
from tracker.services.signin import password as password_signin

# On PostgreSQL too (ADR 0216): the last active admin locked FOR UPDATE.
pytestmark = pytest.mark.postgres

NEW_PASSWORD = "harbour lantern quietly"
LINK = re.compile(r"/password/set/(pw_[A-Za-z0-9_-]+)")


def _secret_in_latest_email(to: str) -> str:
    email = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.to_address == to).order_by(OutboxEmail.id.desc())
    ).first()
    assert email is not None, f"no email to {to}"
    return LINK.search(email.text_body).group(1)


def _invite(admin, **fields):
    data = {"email": "new.person@example.com", "name": "New Person", "role": "manager"}
    return user_admin.invite_user(admin, {**data, **fields})


def test_invite_creates_an_invited_user_audits_and_queues_one_link_email(ctx):
    admin = make_user("admin")
    user = _invite(admin)
    assert user.status == "invited" and user.password_hash is None
    emails = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to_user_id == user.id)).all()
    assert len(emails) == 1 and emails[0].category == "account"
    assert "invited" in emails[0].subject
    kinds = db.session.scalars(select(AuditEvent.kind).where(AuditEvent.actor_id == admin.id))
    assert list(kinds) == ["user_invited"]
    secret = _secret_in_latest_email(user.email)
    # only the hash is stored: the secret itself is nowhere in the table
    assert db.session.scalar(select(func.count()).where(PasswordLink.token_hash == secret)) == 0


def test_invited_user_sets_a_password_once_and_then_signs_in(ctx):
    user = _invite(make_user("admin"))
    secret = _secret_in_latest_email(user.email)
    assert password_signin.authenticate(user.email, NEW_PASSWORD).user is None
    password_links.set_password_with_link(secret, NEW_PASSWORD)
    assert password_signin.authenticate(user.email, NEW_PASSWORD).user.id == user.id
    assert user.status == "active" and user.last_login_at is not None
    with pytest.raises(LinkRefused, match="already been used"):
        password_links.set_password_with_link(secret, "another long passphrase here")
    assert password_signin.authenticate(user.email, NEW_PASSWORD).user is not None  # unchanged


def test_an_expired_link_is_refused_and_changes_nothing(app, ctx):
    fixed = frozen(app)
    user = _invite(make_user("admin"))
    secret = _secret_in_latest_email(user.email)
    fixed.advance(hours=app.config["INVITE_LINK_HOURS"], seconds=1)
    with pytest.raises(LinkRefused, match="expired"):
        password_links.set_password_with_link(secret, NEW_PASSWORD)
    db.session.refresh(user)
    assert user.password_hash is None
    link = db.session.scalar(select(PasswordLink).where(PasswordLink.user_id == user.id))
    assert link.used_at is None


def test_a_weak_password_leaves_the_link_usable(ctx):
    user = _invite(make_user("admin"))
    secret = _secret_in_latest_email(user.email)
    with pytest.raises(ValidationFailed) as refused:
        password_links.set_password_with_link(secret, "short")
    assert "password" in refused.value.errors
    assert password_links.open_link(secret).used_at is None
    password_links.set_password_with_link(secret, NEW_PASSWORD)


def test_a_newer_link_replaces_the_older_and_unknown_links_are_not_found(app, ctx):
    admin = make_user("admin")
    user = make_user("manager")
    user_admin.send_password_link(admin, user.id)
    first = _secret_in_latest_email(user.email)
    user_admin.send_password_link(admin, user.id)
    second = _secret_in_latest_email(user.email)
    assert first != second
    with pytest.raises(LinkRefused, match="newer link"):
        password_links.open_link(first)
    with pytest.raises(NotFound):
        password_links.open_link("pw_" + "x" * 43)
    # a reset link lives RESET_LINK_HOURS, and the old password works until it is used
    link = password_links.open_link(second)
    lifetime = link.expires_at - link.created_at
    assert lifetime == timedelta(hours=app.config["RESET_LINK_HOURS"])
    assert password_signin.authenticate(user.email, PASSWORD).user is not None


def test_deactivation_ends_tokens_feed_links_and_sign_in_but_keeps_history(ctx):
    admin = make_user("admin")
    user = make_user("manager")
    make_engagement(user, title="Owned by the leaver")
    _, secret = user_service.create_token(user, "laptop")
    feed = calendar_feed.get_or_create_feed(user)
    feed_secret = calendar_feed.feed_url(feed).rsplit("/", 1)[1].removesuffix(".ics")
    user_admin.send_password_link(admin, user.id)
    link = _secret_in_latest_email(user.email)
    nonce = user.session_nonce

    user_admin.deactivate_user(admin, user.id, "Left the company")

    assert password_signin.authenticate(user.email, PASSWORD).user is None
    assert user_service.authenticate_token(secret) is None
    assert db.session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == user.id))
    assert db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id)) is None
    with pytest.raises(NotFound):
        calendar_feed.feed_for_secret(feed_secret)
    with pytest.raises(LinkRefused):
        password_links.open_link(link)
    assert user.session_nonce != nonce and user.status == "deactivated"
    kind = AuditEvent.kind == "user_deactivated"
    entry = db.session.scalars(select(AuditEvent).where(kind)).one()
    assert entry.reason == "Left the company" and entry.data["user_id"] == user.id
    assert db.session.get(User, user.id) is not None  # the account and its history stay
    with pytest.raises(Conflict):
        user_admin.send_password_link(admin, user.id)

    user_admin.reactivate_user(admin, user.id)
    assert password_signin.authenticate(user.email, PASSWORD).user is not None
    assert user_service.authenticate_token(secret) is None  # revoked tokens stay revoked


@pytest.mark.parametrize("change", ["deactivate", "demote"])
def test_the_last_active_admin_cannot_be_removed_even_by_themselves(ctx, change):
    admin = make_user("admin")
    with pytest.raises(Conflict, match="last active admin") as refused:
        if change == "deactivate":
            user_admin.deactivate_user(admin, admin.id)
        else:
            user_admin.update_user(admin, admin.id, {"role": "manager"})
    assert refused.value.errors
    db.session.rollback()
    db.session.refresh(admin)
    assert admin.is_active and admin.role == "admin"
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0
    # with a second active admin, the first may step down
    make_user("admin")
    user_admin.update_user(admin, admin.id, {"role": "manager"})
    assert admin.role == "manager"


def test_a_deactivated_admin_does_not_count_as_the_other_admin(ctx):
    first, second = make_user("admin"), make_user("admin")
    user_admin.deactivate_user(first, second.id)
    with pytest.raises(Conflict):
        user_admin.deactivate_user(first, first.id)


def test_only_admins_manage_users_and_organisations(ctx):
    manager = make_user("manager")
    with pytest.raises(Forbidden):
        user_admin.list_users(manager)
    with pytest.raises(Forbidden):
        providers.create_provider(manager, {"name": "Sneaky Ltd"})


def test_update_changes_role_and_organisation_with_a_field_diff(ctx):
    admin = make_user("admin")
    northwind = providers.create_provider(admin, {"name": "Northwind ML"})
    user = make_user("stakeholder")
    user_admin.update_user(admin, user.id, {"role": "provider", "provider_id": northwind.id})
    assert user.role == "provider" and user.provider.name == "Northwind ML"
    entry = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "user_updated")).one()
    assert entry.data["changed"] == {
        "role": ["stakeholder", "provider"],
        "provider_id": [None, northwind.id],
    }
    user_admin.update_user(admin, user.id, {"role": "manager"})  # leaves the organisation
    assert user.provider_id is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"name": "  "}, "name"),
        ({"role": "superuser"}, "role"),
        ({"role": "provider"}, "provider_id"),
        ({"role": "manager", "provider_id": 1}, "provider_id"),
        ({"role": "provider", "provider_id": 999}, "provider_id"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"password": "short"}, "password"),
    ],
)
def test_invite_names_each_bad_field_and_creates_nothing(ctx, fields, field):
    admin = make_user("admin")
    providers.create_provider(admin, {"name": "Northwind ML"})
    before = db.session.scalar(select(func.count(User.id)))
    with pytest.raises(ValidationFailed) as refused:
        _invite(admin, **fields)
    assert field in refused.value.errors
    assert db.session.scalar(select(func.count(User.id))) == before
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == 0


def test_invite_refuses_an_existing_email_and_a_deactivated_organisation(ctx):
    admin = make_user("admin")
    taken = make_user("manager")
    with pytest.raises(ValidationFailed) as refused:
        _invite(admin, email=taken.email.upper())
    assert "email" in refused.value.errors
    quanta = providers.create_provider(admin, {"name": "Quanta Labs"})
    providers.deactivate_provider(admin, quanta.id)
    with pytest.raises(ValidationFailed) as refused:
        _invite(admin, role="provider", provider_id=quanta.id)
    assert "deactivated" in refused.value.errors["provider_id"][0]


def test_creating_with_a_password_sends_no_invitation(ctx):
    user = _invite(make_user("admin"), password=NEW_PASSWORD)
    assert user.status == "active"
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == 0
    assert password_signin.authenticate(user.email, NEW_PASSWORD).user is not None


@pytest.mark.postgres
def test_two_admins_demoting_each_other_at_once_leave_one_admin(pg_app):
    """The admin rows are locked before counting, so exactly one of the two wins. The loser is
    refused by the lock (Conflict) when both run together, or by permission (Forbidden) when its
    thread reads its actor after the winner committed: by then it is no longer an admin."""
    with pg_app.app_context():
        first, second = make_user("admin"), make_user("admin")
        ids = (first.id, second.id)
        db.session.remove()
    pairs = (ids, ids[::-1])

    def demote(index: int) -> str:
        actor_id, target_id = pairs[index]
        user_admin.update_user(db.session.get(User, actor_id), target_id, {"role": "manager"})
        return "demoted"

    results = run_at_once(pg_app, demote, 2, timeout=30)
    assert all(isinstance(r, str | Conflict | Forbidden) for r in results), results
    outcomes = [r if isinstance(r, str) else "refused" for r in results]
    assert sorted(outcomes) == ["demoted", "refused"]
    with pg_app.app_context():
        roles = db.session.scalars(select(User.role).where(User.id.in_(ids))).all()
        assert sorted(roles) == ["admin", "manager"]
