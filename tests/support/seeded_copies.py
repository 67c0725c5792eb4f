"""Data a test only reads, seeded once per session and day, then copied: the demo, scale data.

Why: thirty-six tests ran `seed_demo()` only to read what it leaves (about a CPU second
apiece: every user, engagement and feature's extension through the services, then health
for all), and the query-plan tests generated the same 200 scale engagements test after
test. On SQLite the first test to ask seeds as before and a backup of the seeded file is
kept; every later one gets a byte copy of it under its app instead
(tests/support/databases.py copies the empty schema the same way). The copy is of the
same code's output for the same key and day, so the test reads exactly what seeding would
have left.

A copy is only taken on a database the test has not written to yet (every table empty),
and only for the day it was seeded on: a test that set up rows first, a clock moved to
another day, or PostgreSQL seeds for real. What seeding itself does (the command's output,
its idempotence, its return value) stays asserted by tests/demo/test_seed.py on an empty
database, and the first seeding here asserts `seed_demo()` returned True.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable
from datetime import date
from pathlib import Path

from flask import Flask
from sqlalchemy import literal, select

from tests.support.databases import copy_sqlite
from tracker.core import clock
from tracker.extensions import db


class SeededCopies:
    """Seeded SQLite files of this session, by what was seeded and the day."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seeded: dict[Hashable, Path] = {}
        self.seeds = 0  # how many times something was really seeded (for the tests of this)

    def load(self, app: Flask, today: date | None = None) -> date:
        """Put the demo of `today` (default: the clock's day) in the app's database."""
        from tracker.demo.seed import seed_demo

        with app.app_context():
            today = today or clock.now().date()

        def seed() -> None:
            assert seed_demo(today) is True, "the demo was already there"

        self.copy_or_seed(app, ("demo", today), seed)
        return today

    def copy_or_seed(self, app: Flask, key: Hashable, seed: Callable[[], None]) -> None:
        """A copy of what `seed()` left for this key today, or `seed()` run in an app context.

        `seed` must leave everything committed; the key names what it seeds (and its size).
        """
        with app.app_context():
            key = (key, clock.now().date())
            path = self._sqlite_path()
            cached = self.seeded.get(key)
            if path is not None and cached is not None and self._empty():
                db.session.remove()
                db.engine.dispose()
                copy_sqlite(cached, path)
                return
            seed()
            self.seeds += 1
            db.session.remove()
            if path is not None and key not in self.seeded:
                self.seeded[key] = self._backup(path, len(self.seeded))

    @staticmethod
    def _sqlite_path() -> Path | None:
        url = db.engine.url
        if url.get_backend_name() != "sqlite" or not url.database:
            return None
        return Path(url.database)

    @staticmethod
    def _empty() -> bool:
        """No row in any table (what a test gets from the schema template)."""
        for table in db.metadata.sorted_tables:
            if db.session.execute(select(literal(1)).select_from(table).limit(1)).first():
                db.session.remove()
                return False
        db.session.remove()
        return True

    def _backup(self, path: Path, number: int) -> Path:
        """A consistent copy of the seeded file (SQLite's backup API: WAL included)."""
        target = self.directory / f"seeded-{number}.db"
        source = sqlite3.connect(path)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return target
