"""Single sign-on against a real OpenID provider (oidc-provider on Node), through the
Flask test client: the tracker's back-channel calls (discovery, token, JWKS, userinfo)
go over HTTP to the provider; the provider's screens are walked with requests."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_from
from tests.factories import make_user
from tests.support.oidc_provider import CLIENT_ID, through_provider
from tracker.extensions import db
from tracker.models import AuditEvent, SsoLink, User

CALLBACK = "http://localhost/login/oidc/callback"


@pytest.fixture
def sso_app(make_app, oidc):
    return make_app(**oidc.app_settings())


def start(client, key: str = "client", next_url: str | None = None) -> str:
    """Press "Sign in with ..." on the sign-in page; the provider URL it redirects to."""
    page = client.get("/login")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    path = f"/login/oidc/{key}" + (f"?{urlencode({'next': next_url})}" if next_url else "")
    answer = client.post(path, data={"csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer.headers["Location"]


def callback(client, url: str):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, login: str, **kwargs):
    return callback(client, through_provider(start(client, **kwargs), login, CALLBACK))


def refusals(app) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.kind == "sso_refused").order_by(AuditEvent.id)
            )
        )


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(SsoLink)),
        )


def test_authorization_request_uses_pkce_state_and_nonce(sso_app, oidc):
    url = start(sso_app.test_client())
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{oidc.issuer}/auth?")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["scope"] == ["openid email profile"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # base64url SHA-256
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 20


def test_sign_in_page_shows_the_provider_button_only_when_configured(make_app, oidc):
    with_sso = make_app(**oidc.app_settings()).test_client().get("/login")
    assert "Sign in with Test IdP" in with_sso.get_data(as_text=True)
    without = make_app().test_client().get("/login")
    assert "Sign in with" not in without.get_data(as_text=True)


def test_first_sign_in_creates_the_user_with_the_claimed_role_and_links_the_subject(sso_app):
    client = sso_app.test_client()
    answer = sign_in(client, "ana", next_url="/engagements")
    assert answer.status_code == 302 and answer.headers["Location"] == "/engagements"
    assert client.get("/home").status_code == 200  # signed in
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ana@client.example"))
        assert (user.name, user.role, user.password_hash) == ("Ana Client", "manager", None)
        link = db.session.scalar(select(SsoLink).where(SsoLink.user_id == user.id))
        assert link.subject == "ana" and link.issuer == sso_app.config["OIDC_ISSUER"]
        kinds = db.session.scalars(
            select(AuditEvent.kind).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id)
        ).all()
        assert kinds == ["user_created", "sso_linked", "sso_signed_in"]


def test_second_sign_in_finds_the_link_and_follows_a_changed_role(sso_app, oidc):
    sign_in(sso_app.test_client(), "ana")
    accounts = {"ana": {"email": "ana@client.example", "email_verified": True, "name": "Ana",
                        "tracker_role": "admin"}}  # fmt: skip
    oidc.configure(accounts=accounts)
    answer = sign_in(sso_app.test_client(), "ana")
    assert answer.status_code == 302
    assert counts(sso_app) == (1, 1)
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ana@client.example"))
        assert user.role == "admin"
        change = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "role_changed"))
        assert change.data["from"] == "manager" and change.data["to"] == "admin"


def test_an_invited_user_is_linked_by_verified_email_and_keeps_the_account(sso_app):
    with sso_app.app_context():
        user_id = make_user("manager", email="adele@client.example", name="Adele").id
    sso_app.config["OIDC_JIT"] = False
    answer = sign_in(sso_app.test_client(), "adele")
    assert answer.status_code == 302
    with sso_app.app_context():
        link = db.session.scalar(select(SsoLink))
        assert link.user_id == user_id and link.email_at_link == "adele@client.example"
        assert db.session.get(User, user_id).role == "admin"  # the claim rules the role


@pytest.mark.parametrize(
    ("login", "reason", "words"),
    [
        ("eve", "domain_refused", "eve@elsewhere.example is outside the email domains"),
        ("rex", "role_unknown", "gave the role superuser in its tracker_role claim"),
        ("uma", "email_unverified", "does not vouch for uma@client.example"),
    ],
)
def test_refused_identities_get_a_page_saying_why_and_nothing_is_created(
    sso_app, login, reason, words
):
    answer = sign_in(sso_app.test_client(), login)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 403
    assert f'data-reason="{reason}"' in html and words in html
    assert counts(sso_app) == (0, 0)
    [event] = refusals(sso_app)
    assert event.reason == reason and event.data["subject"] == login


def test_jit_off_refuses_an_unknown_person(sso_app):
    sso_app.config["OIDC_JIT"] = False
    answer = sign_in(sso_app.test_client(), "ana")
    assert answer.status_code == 403
    assert "accounts are created by invitation only" in answer.get_data(as_text=True)
    assert counts(sso_app) == (0, 0)
    assert [e.reason for e in refusals(sso_app)] == ["not_invited"]


def test_a_user_deactivated_in_the_tracker_cannot_come_back_through_sso(sso_app):
    sign_in(sso_app.test_client(), "ana")
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ana@client.example"))
        user.is_active = False
        db.session.commit()
    client = sso_app.test_client()
    answer = sign_in(client, "ana")
    assert answer.status_code == 403
    assert "deactivated" in answer.get_data(as_text=True)
    assert client.get("/home").status_code == 302  # not signed in
    assert [e.reason for e in refusals(sso_app)] == ["deactivated"]


def test_missing_and_tampered_state_are_refused_before_the_code_is_used(sso_app, oidc):
    client = sso_app.test_client()
    back = through_provider(start(client), "ana", CALLBACK)
    query = parse_qs(urlsplit(back).query)
    no_state = client.get(f"/login/oidc/callback?code={query['code'][0]}")
    assert no_state.status_code == 400
    assert "carried no state" in no_state.get_data(as_text=True)
    tampered = client.get(
        f"/login/oidc/callback?code={query['code'][0]}&state=x{query['state'][0]}"
    )
    assert tampered.status_code == 400
    assert "does not belong to a sign-in started in this browser" in tampered.get_data(as_text=True)
    assert [e.reason for e in refusals(sso_app)] == ["state_missing", "state_mismatch"]
    assert counts(sso_app) == (0, 0)
    # The untouched answer still works: nothing above spent it.
    assert callback(client, back).status_code == 302


def test_a_replayed_code_is_refused_by_the_provider_and_creates_nothing_more(sso_app):
    client = sso_app.test_client()
    back = through_provider(start(client), "ana", CALLBACK)
    assert callback(client, back).status_code == 302
    # The same answer again: its state was spent with the first use.
    again = callback(client, back)
    assert again.status_code == 400
    # A fresh sign-in in this browser carrying the old code: the provider refuses it.
    attacker = sso_app.test_client()
    fresh_state = parse_qs(urlsplit(start(attacker)).query)["state"][0]
    old_code = parse_qs(urlsplit(back).query)["code"][0]
    replay = attacker.get(f"/login/oidc/callback?code={old_code}&state={fresh_state}")
    assert replay.status_code == 400
    assert "would not exchange the sign-in code (invalid_grant)" in replay.get_data(as_text=True)
    assert [e.reason for e in refusals(sso_app)] == ["state_mismatch", "code_refused"]
    assert counts(sso_app) == (1, 1)


@pytest.mark.parametrize(
    ("overrides", "reason", "words"),
    [
        ({"aud": "someone-else"}, "id_token_audience", "issued for another application"),
        # Authlib alone would accept this one: it checks the audience only through azp.
        (
            {"aud": "someone-else", "azp": CLIENT_ID},
            "id_token_audience",
            "issued for another application",
        ),
        ({"iss": "https://evil.example"}, "id_token_invalid", "iss claim is not valid"),
        ({"nonce": "not-the-one-sent"}, "id_token_invalid", "nonce claim is not valid"),
    ],
)
def test_an_id_token_with_wrong_claims_is_refused(sso_app, oidc, overrides, reason, words):
    oidc.configure(idTokenOverrides=overrides)
    answer = sign_in(sso_app.test_client(), "ana")
    assert answer.status_code == 400
    assert words in answer.get_data(as_text=True)
    assert [e.reason for e in refusals(sso_app)] == [reason]
    assert counts(sso_app) == (0, 0)


def test_an_expired_id_token_is_refused(sso_app, oidc):
    oidc.configure(idTokenTtl=1, tokenDelayMs=2100)
    answer = sign_in(sso_app.test_client(), "ana")
    assert answer.status_code == 400
    assert "had already expired" in answer.get_data(as_text=True)
    assert [e.reason for e in refusals(sso_app)] == ["id_token_expired"]
    assert counts(sso_app) == (0, 0)


def test_an_answer_naming_another_issuer_is_refused(sso_app):
    client = sso_app.test_client()
    back = through_provider(start(client), "ana", CALLBACK)
    forged = back.replace("iss=", "iss=https%3A%2F%2Fevil.example&was=")
    answer = callback(client, forged)
    assert answer.status_code == 400
    assert "https://evil.example" in answer.get_data(as_text=True)
    assert [e.reason for e in refusals(sso_app)] == ["issuer_unconfigured"]


def test_an_unconfigured_issuer_key_is_a_clear_404(sso_app):
    client = sso_app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login/oidc/nowhere", data={"csrf_token": token})
    assert answer.status_code == 404
    assert "not configured for that identity provider" in answer.get_data(as_text=True)
    assert [e.reason for e in refusals(sso_app)] == ["issuer_unconfigured"]


def test_key_rotation_is_followed_by_refetching_the_jwks(sso_app, oidc):
    assert sign_in(sso_app.test_client(), "ana").status_code == 302
    old = oidc.published_kids()
    new = oidc.rotate_keys()
    assert new not in old and oidc.published_kids() == [new]
    assert sign_in(sso_app.test_client(), "ana").status_code == 302
    assert refusals(sso_app) == []


def test_sign_out_ends_the_session_and_goes_to_the_providers_end_session(sso_app, oidc):
    client = sso_app.test_client()
    sign_in(client, "ana")
    token = csrf_from(client.get("/home").get_data(as_text=True))
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{oidc.issuer}/session/end"
    query = parse_qs(target.query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/login"]
    assert query["id_token_hint"][0].count(".") == 2
    assert client.get("/home").status_code == 302  # the tracker session is over


def test_password_sign_in_can_be_switched_off_for_client_side_accounts(make_app, oidc):
    app = make_app(**oidc.app_settings(PASSWORD_SIGNIN_CLIENT_SIDE=False))
    with app.app_context():
        manager = make_user("manager").email
        provider = make_user("provider").email
    from tests.conftest import AuthActions

    refused = AuthActions(app.test_client()).login(manager)
    assert refused.status_code == 403
    assert "signs in with Test IdP" in refused.get_data(as_text=True)
    assert AuthActions(app.test_client()).login(provider).status_code == 302


def test_pages_let_forms_go_on_to_the_provider_and_no_further(make_app, oidc):
    """The sign-in and sign-out forms are redirected to the provider: its origin (and only
    it) joins form-action; without SSO the policy stays 'self' alone."""
    page = make_app(**oidc.app_settings()).test_client().get("/login")
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";")
    )
    assert policy["form-action"] == f"'self' {oidc.issuer}"
    plain = make_app().test_client().get("/login").headers["Content-Security-Policy"]
    assert "form-action 'self';" in plain


@pytest.fixture
def org_provider(tmp_path_factory):
    """A second, separate provider: a provider organisation's own identity provider."""
    from tests.support.oidc_provider import running_provider

    with running_provider(tmp_path_factory.mktemp("org-oidc")) as provider:
        provider.configure(
            accounts={
                "nia": {"email": "nia@northwind.example", "email_verified": True, "name": "Nia"},
                "ola": {"email": "ola@other.example", "email_verified": True, "name": "Ola"},
            }
        )
        yield provider


@pytest.fixture
def two_issuer_app(make_app, oidc, org_provider):
    import json

    from tests.support.oidc_provider import CLIENT_SECRET

    org = {
        "issuer": org_provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "organisation": "Northwind ML",
        "name": "Northwind",
        "jit": True,
    }
    return make_app(**oidc.app_settings(OIDC_PROVIDER_ISSUERS=json.dumps([org])))


def test_an_organisations_issuer_signs_in_its_own_staff_as_provider_users(
    two_issuer_app, org_provider
):
    client = two_issuer_app.test_client()
    assert "Sign in with Northwind" in client.get("/login").get_data(as_text=True)
    answer = callback(client, through_provider(start(client, "org1"), "nia", CALLBACK))
    assert answer.status_code == 302
    with two_issuer_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "nia@northwind.example"))
        assert (user.role, user.provider.name) == ("provider", "Northwind ML")
        assert db.session.scalar(select(SsoLink.issuer)) == org_provider.issuer


def test_each_issuer_signs_in_only_its_own_people(two_issuer_app):
    with two_issuer_app.app_context():
        make_user("provider", provider="Other Co", email="ola@other.example")
        make_user("provider", provider="Northwind ML", email="ana@client.example")
    # Another organisation's person through Northwind's issuer.
    org_client = two_issuer_app.test_client()
    refused = callback(org_client, through_provider(start(org_client, "org1"), "ola", CALLBACK))
    assert refused.status_code == 403
    assert "signs in Northwind ML&#39;s people only" in refused.get_data(as_text=True)
    # Provider staff through the client organisation's issuer.
    answer = sign_in(two_issuer_app.test_client(), "ana")
    assert answer.status_code == 403
    assert "Provider staff do not sign in through Test IdP" in answer.get_data(as_text=True)
    assert [e.reason for e in refusals(two_issuer_app)] == ["wrong_issuer", "wrong_issuer"]
    assert counts(two_issuer_app) == (2, 0)


def test_a_sign_in_racing_another_that_created_the_user_links_instead_of_failing(
    sso_app, monkeypatch
):
    """Two tabs finish the first sign-in at once: the loser's insert hits the unique email,
    and it signs in to the account the winner created (no 500, no second user)."""
    from tracker.services.signin import sso_accounts as service

    real = service._existing_user
    calls = []

    def lookup_before_the_other_tab_committed(identity):
        calls.append(identity.email)
        if len(calls) == 1:  # the other tab commits right after this look-up
            make_user("manager", email=identity.email, name="Made By The Other Tab")
            return None
        return real(identity)

    monkeypatch.setattr(service, "_existing_user", lookup_before_the_other_tab_committed)
    answer = sign_in(sso_app.test_client(), "ana")
    assert answer.status_code == 302
    assert len(calls) == 2
    assert counts(sso_app) == (1, 1)
    with sso_app.app_context():
        assert db.session.scalar(select(User.name)) == "Made By The Other Tab"


def test_a_sign_in_costs_the_same_queries_however_many_people_are_linked(sso_app):
    from tests.conftest import count_queries

    def linked_sign_in_cost() -> int:
        client = sso_app.test_client()
        back = through_provider(start(client), "ana", CALLBACK)
        with count_queries(sso_app) as counter:
            assert callback(client, back).status_code == 302
        return counter.count

    sign_in(sso_app.test_client(), "ana")  # first sign-in: created and linked
    small = linked_sign_in_cost()
    with sso_app.app_context():
        for n in range(30):
            user = make_user("manager", email=f"other{n}@client.example")
            db.session.add(
                SsoLink(
                    user_id=user.id,
                    issuer=sso_app.config["OIDC_ISSUER"],
                    subject=f"other-{n}",
                    email_at_link=user.email,
                )
            )
        db.session.commit()
    assert linked_sign_in_cost() == small
    assert small <= 6, small  # link+user, provider, updates, audit row


def test_a_person_who_cancels_at_the_provider_is_told_so(sso_app, oidc):
    client = sso_app.test_client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    answer = client.get(
        "/login/oidc/callback?"
        + urlencode(
            {"error": "access_denied", "error_description": "End-User aborted", "state": state}
        )
    )
    assert answer.status_code == 400
    assert "did not sign you in: access_denied (End-User aborted)" in answer.get_data(as_text=True)
    assert [e.reason for e in refusals(sso_app)] == ["provider_error"]


def test_jit_into_a_deactivated_organisation_is_refused(two_issuer_app):
    with two_issuer_app.app_context():
        from tracker.models import ProviderOrganisation

        db.session.add(ProviderOrganisation(name="Northwind ML", is_active=False))
        db.session.commit()
    client = two_issuer_app.test_client()
    answer = callback(client, through_provider(start(client, "org1"), "nia", CALLBACK))
    assert answer.status_code == 403
    assert "Northwind ML is deactivated" in answer.get_data(as_text=True)
    assert counts(two_issuer_app) == (0, 0)


def test_someone_removed_at_the_provider_cannot_sign_in_again(sso_app, oidc):
    from tests.support.oidc_provider import ACCOUNTS

    assert sign_in(sso_app.test_client(), "ana").status_code == 302
    oidc.configure(accounts={sub: claims for sub, claims in ACCOUNTS.items() if sub != "ana"})
    client = sso_app.test_client()
    with pytest.raises(AssertionError, match="no provider form"):  # the provider's error page
        through_provider(start(client), "ana", CALLBACK)
    assert client.get("/home").status_code == 302
    with sso_app.app_context():
        signed_in = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "sso_signed_in")
        )
    assert signed_in == 1  # the first sign-in only


def test_a_person_created_by_sso_is_active_not_invited_though_they_have_no_password(sso_app):
    sign_in(sso_app.test_client(), "ana")
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ana@client.example"))
        assert user.password_hash is None
        assert user.status == "active"
        user.last_login_at = None  # as an invited account that never signed in
        assert user.status == "invited"


def test_the_session_keeps_a_few_unfinished_sign_ins_and_forgets_older_ones(sso_app):
    from tracker.services.signin.oidc import MAX_PENDING, PENDING_KEY

    client = sso_app.test_client()
    states = [parse_qs(urlsplit(start(client)).query)["state"][0] for _ in range(MAX_PENDING + 3)]
    with client.session_transaction() as session:
        assert [entry[0] for entry in session[PENDING_KEY]] == states[-MAX_PENDING:]
        authlib_states = [key for key in session if key.startswith("_state_")]
        assert sorted(authlib_states) == sorted(f"_state_client_{s}" for s in states[-MAX_PENDING:])
    # The oldest one is refused like any unknown state; the newest still completes.
    oldest = client.get(f"/login/oidc/callback?code=x&state={states[0]}")
    assert oldest.status_code == 400


def test_an_unreachable_provider_is_a_clear_502_not_a_500(make_app, oidc):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    app = make_app(**oidc.app_settings(OIDC_ISSUER=closed, OIDC_HTTP_TIMEOUT=2))
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login/oidc/client", data={"csrf_token": token})
    assert answer.status_code == 502
    assert "Test IdP could not be reached" in answer.get_data(as_text=True)
    assert [e.reason for e in refusals(app)] == ["provider_unreachable"]
