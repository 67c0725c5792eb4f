"""Every test in this folder drives the browser; the fixtures live in tests/support/browser.py."""

import pytest

from config import TestingConfig
from tests.support.browser import ARTIFACTS, CHROMIUM_ARGS, login, screenshot  # noqa: F401
from tests.support.databases import copy_sqlite, sqlite_url
from tracker import create_app
from tracker.extensions import db


def pytest_collection_modifyitems(items):
    """Mark this folder's tests so `-m "not browser"` can leave them out."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def ticked_demo(tmp_path_factory, sqlite_template):
    """A SQLite file with the demo after one scheduler tick, made once per session."""
    from tracker.demo.seed import seed_demo
    from tracker.scheduling.tick import run_tick

    directory = tmp_path_factory.mktemp("ticked-demo")
    path = directory / "ticked.db"
    copy_sqlite(sqlite_template, path)
    app = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=sqlite_url(path), MAIL_DIR=str(directory / "mail")
    )
    with app.app_context():
        seed_demo()
        run_tick()
        db.session.remove()
        db.engine.dispose()
    return path
