"""Every Flask extension object, created unbound and initialised in create_app."""

import os

import click
from flask_login import LoginManager
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class LazyMigrate:
    """Flask-Migrate, loaded when something migrates.

    Importing flask_migrate imports Alembic and Mako, about 11 MB in every process, and a
    web worker never migrates (docs/benchmarks.md, issue 29). `init_app` leaves a stand-in
    at `app.extensions["migrate"]` that sets up the real extension the first time it is
    read (flask_migrate.upgrade() and migrations/env.py read it), and sets it up at once
    when the flask command line builds the app, so `flask db ...` is there as before.
    """

    def __init__(self, **options) -> None:
        self.options = options

    def init_app(self, app, db, directory: str) -> None:
        def load():
            from flask_migrate import Migrate

            Migrate(**self.options).init_app(app, db, directory=directory)
            return app.extensions["migrate"]

        app.extensions["migrate"] = _OnFirstUse(load)
        if os.environ.get("FLASK_RUN_FROM_CLI") or click.get_current_context(silent=True):
            load()


class _OnFirstUse:
    """Stands in for an object built by `load()` on the first attribute read."""

    def __init__(self, load) -> None:
        self._load = load
        self._real = None

    def __getattr__(self, name: str):
        if self._real is None:
            self._real = self._load()
        return getattr(self._real, name)


migrate = LazyMigrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
api = Api()
