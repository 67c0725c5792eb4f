"""Personal API tokens: create (secret once, stored hashed), list, revoke, last-used time."""

from datetime import timedelta

from tests.api.conftest import assert_error
from tests.conftest import csrf_from
from tracker.auth.tokens import hash_token
from tracker.extensions import db
from tracker.models import ApiToken, User


def test_create_shows_the_secret_once_and_stores_only_its_hash(app, api, world):
    response = api.post("/tokens", "provider", json={"name": "ci"})
    assert response.status_code == 201
    created = response.get_json()
    secret = created["secret"]
    with app.app_context():
        row = db.session.get(ApiToken, created["id"])
        assert row.token_hash == hash_token(secret) and secret not in row.token_hash
    listed = api.get("/tokens", "provider").get_json()
    assert created["id"] in [t["id"] for t in listed]
    assert all("secret" not in t for t in listed)
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.get_json()["role"] == "provider"


def test_revoked_token_stops_working_at_once(api, world):
    created = api.post("/tokens", "manager", json={"name": "short-lived"}).get_json()
    bearer = {"Authorization": f"Bearer {created['secret']}"}
    assert api.client.get("/api/v1/engagements", headers=bearer).status_code == 200
    revoked = api.delete(f"/tokens/{created['id']}", "manager")
    assert revoked.status_code == 200 and revoked.get_json()["is_active"] is False
    assert_error(api.client.get("/api/v1/engagements", headers=bearer), 401)
    assert api.delete(f"/tokens/{created['id']}", "manager").status_code == 200  # idempotent


def test_nobody_revokes_or_sees_someone_elses_token_except_an_admin(api, world):
    created = api.post("/tokens", "manager", json={"name": "mine"}).get_json()
    assert_error(api.delete(f"/tokens/{created['id']}", "provider"), 404)
    assert created["id"] not in [t["id"] for t in api.get("/tokens", "provider").get_json()]
    assert api.delete(f"/tokens/{created['id']}", "admin").status_code == 200


def test_last_used_is_recorded_at_most_once_a_minute(app, api, world):
    with app.app_context():
        token = db.session.scalar(
            db.select(ApiToken).where(ApiToken.user_id == world.users["stakeholder"])
        )
        assert token.last_used_at is None
        token_id = token.id
    api.get("/me", "stakeholder")
    with app.app_context():
        first = db.session.get(ApiToken, token_id).last_used_at
        assert first is not None and first.tzinfo is not None
    api.get("/me", "stakeholder")
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at == first
        row = db.session.get(ApiToken, token_id)
        row.last_used_at = first - timedelta(minutes=5)
        db.session.commit()
    api.get("/me", "stakeholder")
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at > first - timedelta(minutes=5)


def test_bad_token_names_are_422(api, world):
    assert_error(api.post("/tokens", "manager", json={"name": ""}), 422, field="name")
    assert_error(api.post("/tokens", "manager", json={"name": "x" * 101}), 422, field="name")
    assert_error(api.post("/tokens", "manager", json={}), 422, field="name")


def _login(app, auth, world, role="manager"):
    with app.app_context():
        email = db.session.get(User, world.users[role]).email
    auth.login(email)


def test_tokens_page_creates_shows_once_and_revokes(app, client, auth, world):
    _login(app, auth, world)
    page = client.get("/tokens")
    assert page.status_code == 200 and "API tokens" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    created = client.post("/tokens", data={"name": "laptop", "csrf_token": token})
    html = created.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "laptop"))
        prefix, token_id = row.prefix, row.id
    assert created.status_code == 200 and prefix in html and 'data-testid="token-secret"' in html
    again = client.get("/tokens").get_data(as_text=True)
    assert 'data-testid="token-secret"' not in again and "laptop" in again
    revoked = client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 302
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None


def test_tokens_page_refuses_a_blank_name_and_a_missing_csrf_token(app, client, auth, world):
    _login(app, auth, world, "provider")
    token = csrf_from(client.get("/tokens").get_data(as_text=True))
    assert client.post("/tokens", data={"name": "", "csrf_token": token}).status_code == 422
    assert client.post("/tokens", data={"name": "x"}).status_code == 400
    with app.app_context():
        names = db.session.scalars(
            db.select(ApiToken.name).where(ApiToken.user_id == world.users["provider"])
        ).all()
    assert names == ["tests"]


def test_tokens_page_is_in_the_navigation(app, client, auth, world):
    _login(app, auth, world, "stakeholder")
    assert 'href="/tokens"' in client.get("/home").get_data(as_text=True)
