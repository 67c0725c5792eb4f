"""Config selection and production safety checks."""

import pytest

import config
from config import DevelopmentConfig, ProductionConfig, TestingConfig, config_from_env
from tracker import create_app


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("development", DevelopmentConfig),
        ("testing", TestingConfig),
        ("production", ProductionConfig),
    ],
)
def test_app_env_selects_config_class(monkeypatch, env, expected):
    monkeypatch.setenv("APP_ENV", env)
    assert config_from_env() is expected


def test_unknown_app_env_is_refused(monkeypatch):
    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(RuntimeError, match="APP_ENV must be one of"):
        config_from_env()


def test_production_refuses_to_start_without_secret_and_database(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY, DATABASE_URL"):
        create_app(ProductionConfig)


def test_production_cookies_are_secure():
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.REMEMBER_COOKIE_SECURE is True
    assert (
        ProductionConfig.SESSION_COOKIE_HTTPONLY
        and ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"
    )


def test_default_database_is_sqlite_under_instance():
    assert DevelopmentConfig.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert DevelopmentConfig.SQLALCHEMY_DATABASE_URI.endswith("instance/tracker.db")


def test_database_url_is_normalised_to_psycopg3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/tracker")
    assert config._database_url("sqlite://") == "postgresql+psycopg://u:p@db/tracker"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    from sqlalchemy import text

    from tracker.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite-only pragmas; this run is on PostgreSQL")
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
