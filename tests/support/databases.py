"""Cheap, exact per-test databases and one app per backend reused across tests.

Why: building the app (740 URL rules, the OpenAPI document) and its schema took about
a fifth of a second per test on an idle core, and PostgreSQL's TRUNCATE of every table
another third of a second: minutes per lane (docs/adr/0180-a-test-database-by-a-cheap-path.md).

- SQLite: the schema is created once per session into a template file; each test gets
  a byte copy of it (a new inode, so a connection some thread forgot holds the old one).
- PostgreSQL: one database with the schema created once; after each test every table is
  emptied with DELETE (foreign-key triggers off for that transaction), every sequence
  restarted and the tables vacuumed (their pages given back, so rows are laid out as in
  a new table), which leaves what TRUNCATE ... RESTART IDENTITY left, at a tenth of the cost.
- The app: the first `make_app()` without overrides in a test gets the session's app for
  that backend, put back as it was built: config and `app.extensions` restored from
  snapshots taken right after `create_app`, MAIL_DIR under the test's tmp_path, a fresh
  database. A test that leaves a listener on its engine fails the next checkout loudly.
- An app built with settings (`make_app(OIDC_ISSUER=...)`) is shared the same way among
  the tests that ask for exactly those settings, when they are plain data (strings,
  numbers, lists ...; docs/adr/0246): the SSO, delivery and batch tests asked for the same
  few settings test after test and built the app again each time (~0.3 CPU s). The last
  few such apps are kept; a second app in one test, settings naming the database or mail
  directory, and tests marked `fresh_app` (they add a route or hook, which Flask refuses
  once an app has served) build a new app.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, inspect, text

from tracker.extensions import db


def create_schema(url: str) -> None:
    """Every table of the models, on an empty database."""
    import tracker.models  # noqa: F401  (registers every table on the metadata)

    engine = create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def copy_sqlite(template: Path, target: Path) -> None:
    """Put a byte copy of the template at `target` (a new file; old WAL/SHM removed first).

    The template was closed cleanly (its WAL checkpointed), so the main file is all of it.
    """
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    staging = target.with_name(target.name + ".new")
    shutil.copyfile(template, staging)
    os.replace(staging, target)


def empty_postgres(app: Flask) -> None:
    """Delete every row of every table and restart every sequence, then VACUUM the tables."""
    with app.app_context():
        db.session.remove()
        tables = [table.name for table in db.metadata.sorted_tables]
        statements = ["SET LOCAL session_replication_role = replica"]
        statements += [f'DELETE FROM "{name}"' for name in reversed(tables)]
        statements.append(
            "SELECT setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s"
            " JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
        )
        with db.engine.begin() as conn:
            conn.exec_driver_sql(";\n".join(statements))
        # VACUUM gives the emptied pages back, so the next test's rows are laid out as on
        # a truncated table: a SELECT without ORDER BY returns them in the same order.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM " + ", ".join(f'"{name}"' for name in tables))
        db.engine.dispose()


def truncate_postgres(app: Flask) -> None:
    """The old, slow reset (kept for the benchmark that compares the two)."""
    with app.app_context():
        db.session.remove()
        names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


def _engine_listener_count(app: Flask) -> int:
    """Listeners attached to this app's engine itself (not the Engine class)."""
    with app.app_context():
        dispatch = db.engine.dispatch
        return sum(len(getattr(dispatch, name).listeners) for name in dispatch._event_names)


@dataclass
class SharedApp:
    """One app built once, and what it looked like right after create_app."""

    backend: str
    app: Flask
    db_path: Path | None
    config: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)
    listeners: int = 0

    @classmethod
    def build(cls, backend: str, url: str, db_path: Path | None, factory) -> SharedApp:
        app = factory(url)
        shared = cls(backend, app, db_path)
        shared.config = copy.deepcopy(dict(app.config))
        shared.extensions = dict(app.extensions)
        shared.listeners = _engine_listener_count(app)
        return shared

    def checkout(self, tmp_path: Path, template: Path | None) -> Flask:
        """The app as built, with a fresh database and this test's mail directory."""
        app = self.app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        leaked = _engine_listener_count(app) - self.listeners
        if leaked:
            raise AssertionError(
                f"a previous test left {leaked} event listener(s) on the shared engine; "
                "remove them in a finally block"
            )
        if self.db_path is not None and template is not None:
            copy_sqlite(template, self.db_path)
        app.config.clear()
        app.config.update(copy.deepcopy(self.config))
        app.config["MAIL_DIR"] = str(tmp_path / "mail")
        app.extensions.clear()
        app.extensions.update(self.extensions)
        return app

    def release(self) -> None:
        """After the test: PostgreSQL emptied now; SQLite is replaced at the next checkout."""
        if self.backend == "postgres":
            empty_postgres(self.app)
        else:
            with self.app.app_context():
                db.session.remove()
                db.engine.dispose()


KEPT_TUNED_APPS = 4  # apps built with settings kept for later tests (the newest ones)
PLAIN = (str, int, float, bool, type(None))


def _plain(value) -> bool:
    """Data whose repr is its value and which deep-copies (config is snapshotted)."""
    if isinstance(value, PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def shared_key(backend: str, overrides: dict) -> Hashable | None:
    """The pool key of an app with these settings, or None when it must be built new."""
    if not overrides:
        return backend
    if {"SQLALCHEMY_DATABASE_URI", "MAIL_DIR"} & set(overrides):
        return None
    if not all(_plain(v) for v in overrides.values()):
        return None
    return (backend, repr(sorted(overrides.items())))


class AppMaker:
    """One test's `make_app(backend=..., **overrides)`; `close()` empties and disposes.

    `build(url, directory, **overrides)` makes an app; `postgres_url()` gives the shared
    PostgreSQL database (starting the cluster on first use); `shared` is the session's
    backend -> SharedApp; `session_dir(name)` a directory that lives for the session;
    `share=False` (a test marked `fresh_app`) builds every app new.
    """

    def __init__(
        self,
        *,
        build: Callable[..., Flask],
        tmp_path: Path,
        template: Path,
        shared: dict[str, SharedApp],
        postgres_url: Callable[[], str],
        session_dir: Callable[[str], Path],
        share: bool = True,
    ) -> None:
        self.build = build
        self.tmp_path = tmp_path
        self.template = template
        self.shared = shared
        self.postgres_url = postgres_url
        self.session_dir = session_dir
        self.share = share
        self.created: list[tuple[str, Flask]] = []
        self.checked_out: list[SharedApp] = []

    def __call__(self, backend: str, **overrides) -> Flask:
        first = all(s.backend != backend for s in self.checked_out)
        key = shared_key(backend, overrides)
        if self.share and first and key is not None:
            shared = self._shared(key, backend, overrides)
            app = shared.checkout(self.tmp_path, self.template)
            self.checked_out.append(shared)
        else:
            app = self.build(self._fresh_url(backend), self.tmp_path, **overrides)
            self.created.append((backend, app))
        return app

    def _fresh_url(self, backend: str) -> str:
        if backend == "postgres":
            return self.postgres_url()
        path = self.tmp_path / f"tracker-{len(self.created)}.db"
        copy_sqlite(self.template, path)
        return sqlite_url(path)

    def _shared(self, key: Hashable, backend: str, overrides: dict) -> SharedApp:
        if key in self.shared:
            if overrides:  # most recently used last, so the oldest tuned app goes first
                self.shared[key] = self.shared.pop(key)
            return self.shared[key]
        if overrides:
            self._forget_old_tuned_apps()
        directory = self.session_dir(f"shared-{backend}")
        if backend == "postgres":
            path, url = None, self.postgres_url()
        else:
            path = directory / "shared.db"
            url = sqlite_url(path)
        self.shared[key] = SharedApp.build(
            backend, url, path, lambda u: self.build(u, directory, **overrides)
        )
        return self.shared[key]

    def _forget_old_tuned_apps(self) -> None:
        tuned = [key for key in self.shared if isinstance(key, tuple)]
        for key in tuned[: max(0, len(tuned) - KEPT_TUNED_APPS + 1)]:
            forgotten = self.shared.pop(key)
            with forgotten.app.app_context():
                db.session.remove()
                db.engine.dispose()

    def close(self, *, check_counts: bool = True) -> None:
        """Release the apps; then fail if the dashboard's kept counts of engagements per
        state and health no longer match the engagement rows (every test checks the
        writers it ran, docs/adr/0259). A test that writes engagement rows behind the
        app's back on purpose is marked `raw_engagement_writes`."""
        apps = [s.app for s in self.checked_out] + [app for _, app in self.created]
        drift = [d for d in map(counts_drift, apps) if d] if check_counts else []
        for shared in self.checked_out:
            shared.release()
        for backend, app in self.created:
            if backend == "postgres":
                empty_postgres(app)
            else:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
        if drift:
            raise AssertionError("; ".join(drift))


def counts_drift(app: Flask) -> str | None:
    """How the kept counts differ from the engagement rows, if they do."""
    from tracker.services.judgments import engagement_counts

    with app.app_context():
        if not inspect(db.engine).has_table("engagement_count"):
            return None  # a database migrated to an older revision (tests/test_migrations.py)
        try:
            kept, truth = engagement_counts.kept_and_afresh()
        finally:
            db.session.remove()
    if kept == truth:
        return None
    return f"kept engagement counts {kept} differ from the rows {truth}"
