"""One JSON error body for every failure, documented in the OpenAPI spec."""

import pytest

from tests.api.conftest import assert_error


def test_no_credentials_is_401_json_not_a_redirect(api, world):
    response = api.get("/engagements")
    body = assert_error(response, 401, "unauthorized")
    assert "Bearer" in response.headers["WWW-Authenticate"] and body["message"]


def test_bad_token_is_401(client, world):
    response = client.get("/api/v1/engagements", headers={"Authorization": "Bearer et_nope"})
    assert_error(response, 401)


@pytest.mark.parametrize("path", ["/nothing-here", "/engagements/2147483648", "/engagements/0"])
def test_unknown_paths_are_404_json(api, world, path):
    assert_error(api.get(path, "manager"), 404, "not_found")


def test_missing_engagement_is_404(api, world):
    assert_error(api.get("/engagements/424242", "manager"), 404, "not_found")


def test_wrong_method_is_405_with_allow(api, world):
    response = api.delete("/engagements", "manager")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]


def test_oversized_body_is_413(app, api, world):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = api.post("/engagements", "manager", json={"title": "x" * 5000})
    assert_error(response, 413)


def test_non_json_body_is_415(api, world):
    response = api.post("/engagements", "manager", data="title=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_malformed_json_is_400(api, world):
    response = api.post("/engagements", "manager", data="{", content_type="application/json")
    assert_error(response, 400)


def test_validation_error_is_422_with_field_messages(api, world):
    response = api.post("/engagements", "manager", json={"structure": "pod_2"})
    body = assert_error(response, 422, "validation_failed")
    assert body["errors"]["title"] and body["errors"]["provider_id"]


def test_unexpected_error_is_500_in_the_same_shape(app, api, world, monkeypatch):
    from tracker.services.read_model import engagement_list

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(engagement_list, "list_page", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert_error(api.get("/engagements", "manager"), 500, "internal_error")


def test_spec_documents_the_error_body_and_both_auth_schemes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    error = spec["components"]["schemas"]["ApiError"]
    assert set(error["required"]) == {"status", "code", "message", "errors", "unmet"}
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert default["content"]["application/json"]["schema"]["$ref"].endswith("/ApiError")
    assert set(spec["components"]["securitySchemes"]) == {"bearerAuth", "sessionCookie"}
    fire = spec["paths"]["/api/v1/engagements/{engagement_id}/transitions/{event}"]["post"]
    assert {"409", "412"} <= set(fire["responses"])
    assert any(p["name"] == "If-Match" for p in fire["parameters"])


def test_docs_page_uses_local_assets(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    asset = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
    asset.close()


def test_session_writes_need_the_csrf_token(client, auth, world, app):
    from tracker.models import User

    with app.app_context():
        from tracker.extensions import db

        email = db.session.get(User, world.users["manager"]).email
    auth.login(email)
    path = f"/api/v1/engagements/{world.engagements['own']}"
    assert_error(client.patch(path, json={"title": "No token"}), 400)
    ok = client.patch(path, json={"title": "With token"}, headers={"X-CSRFToken": auth.csrf()})
    assert ok.status_code == 200


def test_missing_body_where_one_is_documented_is_400_and_changes_nothing(api, world):
    path = f"/engagements/{world.engagements['own']}"
    tag = api.get(path, "manager").headers["ETag"]
    assert_error(api.patch(path, "manager"), 400, "body_required", field="body")
    assert api.get(path, "manager").headers["ETag"] == tag
    assert api.patch(path, "manager", json={}).status_code == 200  # an empty object is a body


def test_unauthenticated_write_without_body_is_still_401(api, world):
    assert_error(api.post("/engagements"), 401)


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_a_400_naming_the_body(api, world, depth):
    own = world.engagements["own"]
    body = "[" * depth + "]" * depth
    response = api.post(
        f"/engagements/{own}/milestones", "manager", data=body, content_type="application/json"
    )
    assert_error(response, 400, "json_too_deep", field="body")


def test_brackets_inside_strings_do_not_count_as_nesting(api, world):
    own = world.engagements["own"]
    title = '[[[[{{{{\\"' * 20
    response = api.post(f"/engagements/{own}/milestones", "manager", json={"title": title})
    assert response.status_code == 422  # the milestone's own rules, not json_too_deep
    assert response.get_json()["code"] != "json_too_deep"


def test_nesting_within_the_limit_is_parsed(api, world):
    own = world.engagements["own"]
    nested = {"a": [[[[{"b": [1]}]]]]}
    response = api.post(f"/engagements/{own}/milestones", "manager", json=nested)
    assert response.get_json()["code"] == "validation_failed"


def test_no_free_database_connection_is_503_with_retry_after_and_saves_nothing(make_app):
    """Every pooled connection busy past the pool's timeout is "try again", not a bug."""
    from sqlalchemy import func, select

    from tests.conftest import AuthActions
    from tests.factories import make_user
    from tracker.extensions import db
    from tracker.models import Engagement
    from tracker.services.administration.users import create_token

    options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS=options)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        manager = make_user("manager")
        email, (_, secret) = manager.email, create_token(manager)
        db.session.remove()
        engine = db.engine
    # Requests outside any app context of the test's own: each gets its own, as in production.
    client, browser = app.test_client(), app.test_client()
    AuthActions(browser).login(email)  # a browser's session, for the page
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"title": "Busy", "provider_id": 1, "structure": "pod_2", "monthly_cost": 1}
    holder = engine.connect()  # the pool's only connection, held
    try:
        response = client.post("/api/v1/engagements", json=body, headers=headers)
        error = assert_error(response, 503, "database_busy")
        assert response.headers["Retry-After"] == "2"
        assert "nothing was saved" in error["message"]
        page = browser.get("/dashboard", headers={"Accept": "text/html"})
        assert page.status_code == 503 and page.headers["Retry-After"] == "2"
        assert b"Try again shortly" in page.data
    finally:
        holder.close()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Engagement)) == 0
    assert client.get("/api/v1/engagements", headers=headers).status_code == 200  # all well again


def test_only_busy_or_unreachable_database_errors_are_503():
    import sqlite3

    from sqlalchemy.exc import OperationalError, ProgrammingError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from tracker.errors import database_busy

    class PgError(Exception):
        def __init__(self, sqlstate):
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    def wrapped(cls, orig):
        return cls("SELECT 1", {}, orig)

    assert database_busy(PoolTimeout("QueuePool limit reached"))
    assert database_busy(wrapped(OperationalError, sqlite3.OperationalError("database is locked")))
    for state in ("40P01", "40001", "55P03", "57014", "08006", "53300", "57P01"):
        assert database_busy(wrapped(OperationalError, PgError(state))), state
    # A schema or query bug stays a 500 (logged), however the driver classes it.
    assert not database_busy(
        wrapped(OperationalError, sqlite3.OperationalError("no such table: x"))
    )
    assert not database_busy(wrapped(ProgrammingError, PgError("42P01")))
    assert not database_busy(RuntimeError("bug"))
