"""The Flask application factory and the helpers it calls."""

from flask import Flask

from config import Config, ProductionConfig, config_from_env


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    """Build the app: config, extensions, blueprints, error handlers, commands."""
    config_class = config_class or config_from_env()
    if issubclass(config_class, ProductionConfig):
        config_class.check()
    app = Flask(
        __name__,
        instance_path=str(_instance_path()),
        template_folder="web/templates",
        static_folder="web/static",
    )
    app.config.from_object(config_class)
    app.config.update(overrides)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def _instance_path():
    from config import INSTANCE_DIR

    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return INSTANCE_DIR


def register_extensions(app: Flask) -> None:
    """Bind every extension object in tracker.extensions to this app."""
    from tracker import db_setup
    from tracker.auth import init_app as init_auth
    from tracker.extensions import api, csrf, db, migrate
    from tracker.services.administration.users import authenticate_token
    from tracker.services.derived import register_derived_data
    from tracker.services.evidence.ingest import authenticate as authenticate_ingest

    db_setup.init_app(app)
    db.init_app(app)
    db_setup.finish_requests(app, db)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)
    init_auth(app, token_authenticator=authenticate_token, ingest_authenticator=authenticate_ingest)
    api.init_app(app)
    register_derived_data(app)  # every listener that keeps derived data current


def _migrations_dir():
    from config import BASE_DIR

    return BASE_DIR / "migrations"


def register_blueprints(app: Flask) -> None:
    """Register page and API blueprints."""
    from tracker.api import register_api
    from tracker.web import register_web

    register_web(app)
    register_api(app)


def register_errorhandlers(app: Flask) -> None:
    """One error handler answering HTML or JSON depending on the request."""
    from tracker.errors import init_app as init_errors

    init_errors(app)


def register_commands(app: Flask) -> None:
    """Attach the `flask ...` CLI commands."""
    from tracker.cli import init_app as init_cli

    init_cli(app)
