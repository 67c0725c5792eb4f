"""Shared fixtures: the app on SQLite or PostgreSQL, clients, sign-in, query counts.

TEST_DB=sqlite (default) or TEST_DB=postgres chooses the database the whole
suite runs on; tests that need PostgreSQL whatever TEST_DB says use `pg_app`.
Locally a missing PostgreSQL or browser skips those tests with the reason;
with CI=true it fails them instead.
"""

from __future__ import annotations

import gc
import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from config import TestingConfig
from tests.factories import PASSWORD
from tests.support.databases import (
    AppMaker,
    create_schema,
    empty_postgres,
    sqlite_url,
)
from tests.support.module_queue import run_claimed
from tests.support.postgres import PostgresCluster, PostgresUnavailable
from tests.support.smtp import hung_smtp, smtp_server, smtputf8_server  # noqa: F401  (shared)
from tracker import create_app
from tracker.extensions import db

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
TEST_DB = os.environ.get("TEST_DB", "sqlite")


PG_FIXTURES = {"pg_app", "pg_database", "pg_cluster"}


def pytest_collection_modifyitems(items):
    """Mark what the PostgreSQL lane runs (docs/adr/0216-what-runs-where-in-make-test.md).

    - `pg_cluster`: the test is on PostgreSQL whatever TEST_DB says (it asks for
      `pg_app`/`pg_database`/`pg_cluster`, or is parametrized with the backend
      "postgres"); running it in the SQLite lane too would repeat it exactly.
    - `sqlite_param`: parametrized with the backend "sqlite": SQLite whatever TEST_DB says.
    - `postgres` is added to every `pg_cluster` test; tests whose SQL behaves differently
      on PostgreSQL carry it by hand (module `pytestmark` or a decorator).
    """
    for item in items:
        params = getattr(item, "callspec", None)
        values = {v for v in params.params.values() if isinstance(v, str)} if params else set()
        if PG_FIXTURES & set(item.fixturenames) or "postgres" in values:
            item.add_marker(pytest.mark.pg_cluster)
            item.add_marker(pytest.mark.postgres)
        elif "sqlite" in values:
            item.add_marker(pytest.mark.sqlite_param)


def pytest_addoption(parser):
    parser.addoption(
        "--module-queue",
        metavar="DIR",
        help="share this run with the other pytest processes given the same DIR: each runs "
        "whole modules, taking the next unclaimed one when free (tests/support/module_queue.py)",
    )


def pytest_collection_finish(session):
    """Collect garbage less often while the tests run (docs/adr/0241).

    Collection leaves ~250,000 long-lived objects (modules, the collected items);
    frozen, no later collection walks them again. A first generation of 10,000
    allocations instead of 700 runs the collector ~15 times less often: measured on four
    heavy modules, 1.8 of 18 CPU s were in the collector before, 0.8 after.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    directory = session.config.getoption("module_queue")
    if directory is None:
        return None  # pytest's own loop
    return run_claimed(session, Path(directory))


def require_or_skip(reason: str) -> None:
    """Skip with a visible reason locally; fail in CI, where every real part must exist."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster for the whole run, stopped even on failure."""
    try:
        cluster = PostgresCluster().start()
    except (PostgresUnavailable, OSError) as exc:
        require_or_skip(f"PostgreSQL unavailable: {exc}")
    yield cluster
    cluster.stop()


def _create_schema(url: str) -> None:
    create_schema(url)


@pytest.fixture(scope="session")
def pg_database(pg_cluster):
    """A database with the schema created once; each test empties what it wrote."""
    url = pg_cluster.create_database("tracker_test")
    _create_schema(url)
    return url


def _truncate_all(app) -> None:
    """Empty the shared PostgreSQL database (every table, every sequence restarted)."""
    empty_postgres(app)


def build_app(url: str, tmp_path, **overrides):
    """An app for tests on this database, with mail written under tmp_path."""
    settings = {"SQLALCHEMY_DATABASE_URI": url, "MAIL_DIR": str(tmp_path / "mail")}
    settings.update(overrides)
    return create_app(TestingConfig, **settings)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """The schema, created once per session; tests get byte copies of this file."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    _create_schema(sqlite_url(path))
    return path


@pytest.fixture(scope="session")
def shared_apps():
    """backend -> SharedApp, built on first use (tests/support/databases.py says why)."""
    return {}


@pytest.fixture
def make_app(request, tmp_path, tmp_path_factory, sqlite_template, shared_apps):
    """Build an app on the suite's database (SQLite file or the shared PostgreSQL).

    The first call without overrides in a test gets the session's app for that backend,
    reset to how it was built, on an empty database; any other call builds a new app.
    """
    maker = AppMaker(
        build=build_app,
        tmp_path=tmp_path,
        template=sqlite_template,
        shared=shared_apps,
        postgres_url=lambda: request.getfixturevalue("pg_database"),
        session_dir=tmp_path_factory.mktemp,
        share=request.node.get_closest_marker("fresh_app") is None,
    )

    def factory(backend: str = TEST_DB, **overrides):
        return maker(backend, **overrides)

    yield factory
    maker.close(check_counts=request.node.get_closest_marker("raw_engagement_writes") is None)


@pytest.fixture
def app(make_app):
    """The app on the database TEST_DB names."""
    return make_app()


@pytest.fixture(scope="session")
def seeded_copies(tmp_path_factory):
    """Seeded databases of this session by what and day (tests/support/seeded_copies.py)."""
    from tests.support.seeded_copies import SeededCopies

    return SeededCopies(tmp_path_factory.mktemp("seeded"))


@pytest.fixture
def load_demo(app, seeded_copies):
    """`load_demo(today=None)`: the demo in this test's database, seeded or copied; the day."""
    return lambda today=None: seeded_copies.load(app, today)


@pytest.fixture
def pg_app(make_app):
    """The app on PostgreSQL whatever TEST_DB says (for concurrency tests)."""
    return make_app("postgres")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context for tests that use the database directly."""
    with app.app_context():
        yield
        db.session.remove()


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf-token" content="([^"]+)"'
)


def csrf_from(html: str) -> str:
    """The CSRF token embedded in a rendered page."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


class AuthActions:
    """Sign a test client in and out through the real login form."""

    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, follow: bool = False):
        form = self.client.get("/login")
        token = csrf_from(form.get_data(as_text=True))
        return self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            follow_redirects=follow,
        )

    def csrf(self) -> str:
        """A CSRF token for the signed-in session (for API calls made with cookies)."""
        home = self.client.get("/home")
        return csrf_from(home.get_data(as_text=True))

    def logout(self):
        token = self.csrf()
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@contextmanager
def count_queries(app):
    """Count SQL statements sent while the block runs (`with ... as counter: counter.count`)."""

    class Counter:
        count = 0
        statements: list[str] = []

    counter = Counter()
    counter.statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        counter.count += 1
        counter.statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@pytest.fixture
def query_counter(app):
    return lambda: count_queries(app)


# Imported last: it uses the helpers above. One import here = one shared Chromium.
from tests.support.browser import (  # noqa: E402, F401
    browser,
    demo_databases,
    live,
    live_apps,
    live_server,
    page,
)
from tests.support.oidc_provider import oidc, oidc_provider  # noqa: F401,E402  (shared fixtures)
