"""API fixtures: one user per role with a Bearer token, two providers' engagements."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pytest

from tests.conftest import build_app
from tests.factories import add_member, add_milestone, make_engagement, make_user
from tests.support.databases import copy_sqlite, sqlite_url
from tracker.extensions import db
from tracker.models import ChecklistItem
from tracker.services.administration import users as user_service

ROLES = ("admin", "manager", "provider", "stakeholder")


@dataclass
class World:
    """Ids and tokens; `own` is Northwind's engagement (the provider's, followed by the
    stakeholder), `other` is Quanta's (nobody but the client side may see it)."""

    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    engagements: dict[str, int] = field(default_factory=dict)
    milestones: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)


def _build_world() -> World:
    world = World()
    people = {
        "admin": make_user("admin"),
        "manager": make_user("manager"),
        "provider": make_user("provider", provider="Northwind ML"),
        "stakeholder": make_user("stakeholder"),
    }
    own = make_engagement(people["manager"], provider="Northwind ML", title="Fraud model")
    other = make_engagement(people["manager"], provider="Quanta Labs", title="Vision QA")
    own.followers.append(people["stakeholder"])
    db.session.commit()
    for key, engagement in (("own", own), ("other", other)):
        world.engagements[key] = engagement.id
        world.milestones[key] = add_milestone(engagement).id
        world.members[key] = add_member(engagement).id
        world.items[key] = db.session.scalar(
            # An item ticked by hand (bound items follow their facts instead).
            db.select(ChecklistItem.id).where(
                ChecklistItem.engagement_id == engagement.id, ChecklistItem.key == "data_access"
            )
        )
    for role, user in people.items():
        world.users[role] = user.id
        world.tokens[role] = user_service.create_token(user, "tests")[1]
    return world


@pytest.fixture(scope="session")
def world_template(tmp_path_factory, sqlite_template):
    """The world built once on SQLite, and the file it was built in (ADR 0216)."""
    directory = tmp_path_factory.mktemp("api-world")
    path = directory / "world.db"
    copy_sqlite(sqlite_template, path)
    app = build_app(sqlite_url(path), directory)
    with app.app_context():
        built = _build_world()
        db.session.remove()
        db.engine.dispose()
    return path, built


@pytest.fixture
def world(app, request, shared_apps) -> World:
    """The world on this test's database: on the session's SQLite app a byte copy of the
    file it was built in once (the same rows, ids and tokens), else built here."""
    shared = shared_apps.get("sqlite")
    if shared is not None and shared.app is app and shared.db_path is not None:
        path, built = request.getfixturevalue("world_template")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        copy_sqlite(path, shared.db_path)
        return copy.deepcopy(built)
    with app.app_context():
        built = _build_world()
        db.session.remove()
    return built


class ApiClient:
    """Calls the API with one role's Bearer token (or none)."""

    def __init__(self, client, world: World):
        self.client = client
        self.world = world

    def call(self, method: str, path: str, role: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.world.tokens[role]}"
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path, role=None, **kwargs):
        return self.call("GET", path, role, **kwargs)

    def post(self, path, role=None, **kwargs):
        return self.call("POST", path, role, **kwargs)

    def patch(self, path, role=None, **kwargs):
        return self.call("PATCH", path, role, **kwargs)

    def delete(self, path, role=None, **kwargs):
        return self.call("DELETE", path, role, **kwargs)


@pytest.fixture
def api(client, world) -> ApiClient:
    return ApiClient(client, world)


def assert_error(response, status: int, code: str | None = None, field: str | None = None):
    """The one error shape: status, code, message, errors, unmet."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"status", "code", "message", "errors", "unmet"}
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    if field is not None:
        assert field in body["errors"], body
    return body
