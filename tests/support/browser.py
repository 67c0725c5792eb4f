"""Browser fixtures: a live server on a seeded SQLite file, Debian's Chromium via Playwright.

The browser is Debian's chromium-headless-shell: the same Chromium build (Blink, Skia,
fonts) as /usr/bin/chromium without the desktop browser around it, so a page costs about
a third of the CPU and its screenshots are byte for byte the same (docs/adr/0245).

The demo is seeded once per session (per UTC day) and each live server gets a copy;
the app behind the live servers is built once per session (per settings) and reset
for each test, as the unit tests' shared app is (tests/support/databases.py).

The fixtures are imported once into tests/conftest.py so every test directory
shares one Chromium (two sync Playwright instances cannot run in one thread).

Locally a missing headless shell (or Playwright) skips with the reason;
with CI=true it fails, because CI must exercise the real browser.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from config import TestingConfig
from tests.conftest import require_or_skip
from tests.support.databases import SharedApp, copy_sqlite, sqlite_url
from tracker import create_app
from tracker.extensions import db

CHROMIUM = Path("/usr/lib/chromium/chromium-headless-shell")  # Debian chromium-headless-shell
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
]
DEMO_PASSWORD = "demo-password"


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory, sqlite_template):
    """UTC date -> a SQLite file with the demo seeded that day (seeding once, not per test).

    The demo's dates are relative to today, so a run that crosses midnight seeds again.
    """
    directory = tmp_path_factory.mktemp("demo")
    seeded: dict[date, Path] = {}

    def for_today() -> Path:
        from tracker.demo.seed import seed_demo
        from tracker.services.judgments.health import refresh_all

        today = datetime.now(UTC).date()
        if today not in seeded:
            path = directory / f"demo-{today.isoformat()}.db"
            copy_sqlite(sqlite_template, path)
            app = create_app(
                TestingConfig, SQLALCHEMY_DATABASE_URI=sqlite_url(path), MAIL_DIR=str(directory)
            )
            with app.app_context():
                seed_demo()
                refresh_all()  # the scheduler's job in production; health shows on the dashboard
                db.session.remove()
                db.engine.dispose()
            seeded[today] = path
        return seeded[today]

    return for_today


@dataclass
class LiveServer:
    """A live server's address, its app and the SQLite file it serves (this test's copy)."""

    url: str
    app: Flask
    database: Path


@pytest.fixture(scope="session")
def live_apps(tmp_path_factory) -> Callable[..., SharedApp]:
    """settings -> the session's app for live servers with those settings, built on first use.

    Building the app (740 URL rules, the OpenAPI document) cost 0.3-0.5 CPU s per browser
    test; the app is now built once per settings and put back as built for every test,
    with this test's copy of the database and its mail directory (docs/adr/0245).
    """
    apps: dict[str, SharedApp] = {}

    def shared_app(**settings) -> SharedApp:
        key = repr(sorted(settings.items()))
        if key not in apps:
            path = tmp_path_factory.mktemp("live") / "live.db"
            apps[key] = SharedApp.build(
                "sqlite",
                sqlite_url(path),
                path,
                lambda url: create_app(
                    TestingConfig,
                    SQLALCHEMY_DATABASE_URI=url,
                    MAIL_DIR=str(path.parent / "mail"),
                    **settings,
                ),
            )
        return apps[key]

    return shared_app


def buffered(app):
    """The WSGI app with each answer read whole, and closed, before werkzeug's test server
    writes it. When a browser drops a connection mid-answer (a context closed while a
    stylesheet was still arriving), werkzeug's handler can fail on the dead socket before
    it closes the answer, and the open static file surfaced later, in whichever test was
    running, as an unraisable ResourceWarning. The answers here are pages and small files."""

    def serve(environ, start_response):
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    return serve


@contextmanager
def serving(shared: SharedApp, tmp_path: Path, database: Path) -> Iterator[LiveServer]:
    """Serve the shared app on a free port with a fresh copy of `database` and mail under
    tmp_path; the server is shut down and the app's connections closed afterwards."""
    app = shared.checkout(tmp_path, database)
    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, shared.db_path)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        shared.release()


@pytest.fixture
def live(tmp_path, demo_databases, live_apps) -> Iterator[LiveServer]:
    """The app on a fresh copy of the seeded demo database, served on a free port."""
    with serving(live_apps(), tmp_path, demo_databases()) as server:
        yield server


@pytest.fixture
def live_server(live) -> str:
    """The live server's base URL (see `live`)."""
    return live.url


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (the headless shell) for the session."""
    if not CHROMIUM.exists():
        require_or_skip(f"{CHROMIUM} is missing (apt-get install chromium-headless-shell)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("the playwright package is not installed")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) at a laptop's width."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


def login(page, base_url: str, email: str) -> None:
    """Sign in through the real form."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=role]", state="attached")  # folded away on a phone


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
