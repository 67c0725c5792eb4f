"""Provider organisations (services/administration/providers.py): deactivation keeps their
people out and their engagements readable, names are unique ignoring case, renames are
audited (TEST_DB=sqlite or postgres)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_engagement, make_user
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services.administration import providers
from tracker.services.administration import users as user_service
from tracker.services.signin import password as password_signin

# On PostgreSQL too (ADR 0216): a name taken is found ignoring case, which each dialect
# does its own way.
pytestmark = pytest.mark.postgres


def test_a_deactivated_organisation_keeps_its_people_out_and_its_engagements_readable(ctx):
    from tracker.services.read_model import engagement_queries as engagements

    admin = make_user("admin")
    manager = make_user("manager")
    provider_user = make_user("provider", provider="Northwind ML")
    engagement = make_engagement(manager, provider="Northwind ML", title="Fraud model")
    _, secret = user_service.create_token(provider_user, "ci")
    organisation = provider_user.provider
    nonce = provider_user.session_nonce

    providers.deactivate_provider(admin, organisation.id, "Contract ended")

    assert password_signin.authenticate(provider_user.email, PASSWORD).user is None
    assert user_service.authenticate_token(secret) is None
    assert provider_user.session_nonce != nonce
    assert provider_user.status == "organisation_deactivated"
    assert engagements.get_engagement(manager, engagement.id).title == "Fraud model"
    providers.reactivate_provider(admin, organisation.id)
    assert password_signin.authenticate(provider_user.email, PASSWORD).user is not None
    kinds = db.session.scalars(
        select(AuditEvent.kind).where(AuditEvent.engagement_id.is_(None)).order_by(AuditEvent.id)
    )
    # The organisation's changes, between the sign-ins and the token they bracket.
    assert list(kinds) == [
        "token_created",
        "provider_deactivated",
        "sign_in_failed",
        "provider_reactivated",
        "signed_in",
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "northwind ml"}, "name"),  # taken, ignoring case
        ({"name": "Fine", "website": "ftp://files"}, "website"),
    ],
)
def test_provider_bad_input_names_the_field(ctx, data, field):
    admin = make_user("admin")
    providers.create_provider(admin, {"name": "Northwind ML"})
    with pytest.raises(ValidationFailed) as refused:
        providers.create_provider(admin, data)
    assert field in refused.value.errors


def test_rename_is_audited_and_a_no_change_rename_writes_nothing(ctx):
    admin = make_user("admin")
    organisation = providers.create_provider(admin, {"name": "Northwind"})
    providers.update_provider(admin, organisation.id, {"name": "Northwind ML"})
    providers.update_provider(admin, organisation.id, {"name": "Northwind ML"})
    entries = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "provider_updated"))
    assert [e.data["changed"] for e in entries] == [{"name": ["Northwind", "Northwind ML"]}]
