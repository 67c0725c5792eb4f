"""The suite's own plumbing: a reused app and a copied or emptied database leave nothing behind.

tests/support/databases.py hands each test the session's app and a fresh database
instead of building both; these tests check that what one test changes (rows, ids,
config, app extensions, engine listeners) is gone for the next one. They use a private
pool of shared apps, so the session's own app is not touched.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from tests.conftest import build_app
from tests.factories import make_user
from tests.support.databases import AppMaker
from tracker.core import clock
from tracker.extensions import db
from tracker.models import User

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def makers(request, tmp_path, tmp_path_factory, sqlite_template):
    """makers(name) -> an AppMaker as one test would get it, all sharing one private pool."""
    pool: dict = {}
    opened: list[AppMaker] = []

    def open_maker(name: str) -> AppMaker:
        directory = tmp_path / name
        directory.mkdir()
        maker = AppMaker(
            build=build_app,
            tmp_path=directory,
            template=sqlite_template,
            shared=pool,
            postgres_url=lambda: request.getfixturevalue("pg_database"),
            session_dir=tmp_path_factory.mktemp,
        )
        opened.append(maker)
        return maker

    yield open_maker
    for maker in opened:
        maker.close()


def _user_ids(app) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(select(User.id).order_by(User.id)))
        db.session.remove()
    return ids


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_next_test_gets_the_app_as_built_on_an_empty_database(makers, backend):
    first = makers("first")
    app = first(backend)
    with app.app_context():
        make_user("manager")
        make_user("admin")
        db.session.remove()
    assert _user_ids(app) == [1, 2]
    built_hours = app.config["INVITE_LINK_HOURS"]
    app.config["INVITE_LINK_HOURS"] = built_hours + 1
    app.config["SOMETHING_A_TEST_ADDED"] = True
    clock.install(app, clock.FixedClock(datetime(2026, 1, 5, tzinfo=UTC)))
    first_mail = app.config["MAIL_DIR"]
    first.close()

    second = makers("second")
    again = second(backend)
    assert again is app, "the session's app is reused, not rebuilt"
    assert _user_ids(again) == []
    assert again.config["INVITE_LINK_HOURS"] == built_hours
    assert "SOMETHING_A_TEST_ADDED" not in again.config
    assert clock.EXTENSION_KEY not in again.extensions
    assert again.config["MAIL_DIR"] != first_mail
    assert again.config["MAIL_DIR"].startswith(str(second.tmp_path))
    with again.app_context():
        make_user("manager")
        db.session.remove()
    assert _user_ids(again) == [1], "ids start again at 1, as on a new database"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_second_app_or_one_with_settings_is_built_new(makers, backend):
    maker = makers("only")
    shared = maker(backend)
    second = maker(backend)
    tuned = maker(backend, INVITE_LINK_HOURS=5)
    assert second is not shared and tuned is not shared and tuned is not second
    assert tuned.config["INVITE_LINK_HOURS"] == 5


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_app_with_settings_is_shared_by_the_tests_asking_for_the_same_settings(makers, backend):
    first = makers("first")
    tuned = first(backend, INVITE_LINK_HOURS=5, OIDC_ALLOWED_DOMAINS="a.example")
    with tuned.app_context():
        make_user("manager")
        db.session.remove()
    tuned.config["INVITE_LINK_HOURS"] = 6
    first.close()

    second = makers("second")
    again = second(backend, OIDC_ALLOWED_DOMAINS="a.example", INVITE_LINK_HOURS=5)
    assert again is tuned, "the same settings (in any order) get the app built for them"
    assert again.config["INVITE_LINK_HOURS"] == 5 and _user_ids(again) == []
    assert again.config["MAIL_DIR"].startswith(str(second.tmp_path))
    second.close()

    third = makers("third")
    other = third(backend, INVITE_LINK_HOURS=7)
    assert other is not tuned and other.config["INVITE_LINK_HOURS"] == 7
    pooled = [shared.app for shared in third.shared.values()]
    assert third(backend) not in pooled, "a second app in one test is built new"
    third.close()
    unplain = makers("fourth")(backend, SMTP_HOOK=lambda: None)
    assert unplain is not tuned and makers("fifth")(backend, SMTP_HOOK=lambda: None) is not (
        unplain
    ), "settings that are not plain data are built new"


def test_only_the_newest_apps_with_settings_are_kept(makers):
    from tests.support.databases import KEPT_TUNED_APPS

    apps = []
    for hours in range(KEPT_TUNED_APPS + 1):
        maker = makers(f"m{hours}")
        apps.append(maker("sqlite", INVITE_LINK_HOURS=hours + 1))
        maker.close()
    assert makers("newest")("sqlite", INVITE_LINK_HOURS=KEPT_TUNED_APPS + 1) is apps[-1]
    assert makers("oldest")("sqlite", INVITE_LINK_HOURS=1) is not apps[0], "forgotten"


def test_a_listener_left_on_the_shared_engine_fails_the_next_checkout(makers):
    first = makers("first")
    app = first("sqlite")
    with app.app_context():
        engine = db.engine

    def forgotten(*args):
        return None

    event.listen(engine, "commit", forgotten)
    first.close()
    try:
        with pytest.raises(AssertionError, match="left 1 event listener"):
            makers("second")("sqlite")
    finally:
        event.remove(engine, "commit", forgotten)
    assert makers("third")("sqlite") is app, "once the listener is gone the app is reused"


@pytest.mark.fresh_app
def test_a_test_marked_fresh_app_gets_an_app_of_its_own(app, shared_apps):
    assert all(shared.app is not app for shared in shared_apps.values())

    @app.get("/_only_here")
    def only_here():
        return "ok"

    assert app.test_client().get("/_only_here").get_data(as_text=True) == "ok"


def _all_rows() -> dict[str, list[tuple]]:
    return {
        table.name: [tuple(row) for row in db.session.execute(select(table))]
        for table in db.metadata.sorted_tables
    }


def test_a_demo_copy_holds_what_the_seeding_left_and_a_written_database_is_seeded(
    make_app, tmp_path, sqlite_template
):
    """tests/support/seeded_copies.py: the first load seeds, a later one on an empty database
    gets every row of that seeding back; a database with rows, or another day, is seeded."""
    from pathlib import Path

    from tests.support.databases import copy_sqlite
    from tests.support.seeded_copies import SeededCopies

    copies, app = SeededCopies(tmp_path), make_app("sqlite")  # copies are of SQLite files
    with app.app_context():
        path = Path(db.engine.url.database)

    def emptied() -> None:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        copy_sqlite(sqlite_template, path)

    today = clock.now().date()
    assert copies.load(app) == today and copies.seeds == 1
    with app.app_context():
        seeded = _all_rows()
        assert len(seeded["engagement"]) >= 6 and len(seeded["user"]) >= 5
    emptied()
    assert copies.load(app) == today and copies.seeds == 1  # copied, not seeded
    with app.app_context():
        assert _all_rows() == seeded
    emptied()
    with app.app_context():
        make_user("manager", email="before-the-demo@example.com")
        db.session.remove()
    copies.load(app)
    assert copies.seeds == 2  # the test's own row first: seeded for real, the row kept
    with app.app_context():
        emails = set(db.session.scalars(select(User.email)))
        assert "before-the-demo@example.com" in emails and "manager@example.com" in emails
    emptied()
    copies.load(app, today.replace(year=today.year - 1))
    assert copies.seeds == 3  # another day: its own seeding
