"""Migrations: an empty database upgraded to head equals the models, and downgrades cleanly."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from config import TestingConfig
from tracker import create_app
from tracker.extensions import db


def _empty_database(backend, tmp_path, request):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"migrate_{tmp_path.name[-20:].lower().replace('-', '_')}")


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_upgrade_head_matches_models_and_downgrade_base_empties(backend, tmp_path, request):
    app = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI=_empty_database(backend, tmp_path, request)
    )
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata
            )
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()
