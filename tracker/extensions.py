"""Every Flask extension object, created unbound and initialised in create_app."""

import os
import threading

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


class DocumentedOnDemandApi(Api):
    """flask-smorest's Api whose OpenAPI document is written when something first reads it.

    Registering a blueprint adds its routes to the app at once; describing its operations
    in the document (schemas converted to JSON Schema, a deep copy of every endpoint's doc
    info) waits for the first read of `api.spec`: /api/v1/openapi.json, the docs pages,
    `flask openapi`, tests. A web worker that never serves the document does not hold it
    (about 1.5 MB of its start-up RSS, issue 29). Each step runs once, in the order it was
    deferred, so the document is the one the eager registration wrote.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._deferred = []
        self._documenting = False
        self._writing = threading.RLock()  # gthread workers: one thread writes, others wait
        self._spec = None
        super().__init__(*args, **kwargs)

    @property
    def spec(self):
        if self._deferred or self._documenting:
            with self._writing:  # re-entrant: the writing thread's own reads pass through
                if not self._documenting:  # ... and see the document as it is so far
                    self._documenting = True
                    try:
                        while self._deferred:
                            self._deferred.pop(0)()
                    finally:
                        self._documenting = False
        return self._spec

    @spec.setter
    def spec(self, value) -> None:
        self._spec = value  # a new app's document: what was deferred for the old one goes
        self._deferred = []

    def defer_documentation(self, step) -> None:
        """Run `step()` before the document is first read (after the steps deferred before it)."""
        self._deferred.append(step)

    def register_blueprint(self, blp, *, parameters=None, **options):
        name = options.get("name", blp.name)
        app = self._app
        app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        app.register_blueprint(blp, **options)

        def document() -> None:
            blp.register_views_in_doc(self, app, self._spec, name=name, parameters=parameters)
            self._spec.tag({"name": name, "description": blp.description})

        self.defer_documentation(document)


migrate = LazyMigrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
api = DocumentedOnDemandApi()
