"""Migrations: an empty database upgraded to head equals the models, and downgrades cleanly."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from config import TestingConfig
from tracker import create_app
from tracker.extensions import db


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_app(request, tmp_path):
    """The app on an empty database of each backend, nothing migrated yet."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrate.db'}"
    else:
        cluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database(f"migrate_{tmp_path.name[-20:].lower().replace('-', '_')}")
    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)


def test_upgrade_head_matches_models_and_downgrade_base_empties(empty_app):
    with empty_app.app_context():
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


def test_0011_backfills_one_history_row_per_engagement_from_its_cached_health(empty_app):
    from sqlalchemy import select, text

    from tests.factories import make_engagement, make_user
    from tracker.models import HealthChange

    with empty_app.app_context():
        upgrade()
        engagement = make_engagement(make_user("manager"))
        engagement_id = engagement.id
        db.session.execute(text("UPDATE engagement SET effective_health = 'red'"))
        db.session.commit()
        db.session.remove()
        downgrade(revision="0010")  # the history is dropped; the engagement stays
        upgrade(revision="0011")
        rows = db.session.execute(
            select(HealthChange.engagement_id, HealthChange.effective_health, HealthChange.health)
        ).all()
        assert [tuple(r) for r in rows] == [(engagement_id, "red", "green")]
        assert db.session.scalar(select(HealthChange.changed_at)).tzinfo is not None
        db.session.remove()
        db.engine.dispose()


def test_0019_leaves_the_planner_reading_one_state_newest_first_from_its_index(tmp_path):
    """A SQLite file analysed before 0019 (as the scale seeder leaves it): after the upgrade
    the planner knows the new rank indexes, and "one state, newest change first" still
    reads ix_engagement_state_updated in order, with no sort of the state's rows."""

    from tests.factories import make_engagement, make_user

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'm.db'}")
    with app.app_context():
        upgrade()
        owner = make_user("manager")
        for _ in range(30):
            make_engagement(owner)
        db.session.remove()
        downgrade(revision="0018")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        upgrade()
        with db.engine.connect() as conn:
            plan = " ".join(
                str(row[-1])
                for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id FROM engagement WHERE state = 'trial' "
                    "ORDER BY updated_at DESC, id DESC LIMIT 50"
                )
            )
            analysed = {
                row[0] for row in conn.exec_driver_sql("SELECT idx FROM sqlite_stat1") if row[0]
            }
        assert "ix_engagement_state_updated" in plan and "TEMP B-TREE" not in plan, plan
        assert {"ix_engagement_state_rank", "ix_engagement_live_rank"} <= analysed
        db.engine.dispose()


def test_0020_keeps_each_stored_part_but_not_its_gaps(empty_app):
    """Rows stored before 0020 carry the gaps' sentences; after it, the same parts with
    every other key as it was, in order, and the score and gap count untouched."""
    import json

    from sqlalchemy import select, update

    from tests.factories import make_engagement, make_user
    from tracker.models import Engagement

    parts = [
        {
            "name": f"part{i}",
            "label": f"Part {i}",
            "done": i,
            "total": 5,
            "detail": "d",
            "gaps": [{"code": "x", "message": f"gap {i}"}] * i,
            "weight": 20,
            "applicable": True,
        }
        for i in range(6)
    ]
    with empty_app.app_context():
        upgrade()
        engagement_id = make_engagement(make_user("manager")).id
        db.session.remove()
        downgrade(revision="0019_dashboard")
        db.session.execute(
            update(Engagement.__table__)
            .where(Engagement.__table__.c.id == engagement_id)
            .values(readiness_score=40, readiness_gaps=15, readiness_parts=parts)
        )
        db.session.commit()
        db.session.remove()
        upgrade()
        row = db.session.execute(
            select(
                Engagement.readiness_score, Engagement.readiness_gaps, Engagement.readiness_parts
            ).where(Engagement.id == engagement_id)
        ).one()
        kept = [{k: v for k, v in part.items() if k != "gaps"} for part in parts]
        assert (row[0], row[1]) == (40, 15)
        assert json.dumps(row[2], sort_keys=True) == json.dumps(kept, sort_keys=True)
        db.session.remove()
        downgrade(revision="0019_dashboard")
        cleared = db.session.execute(
            select(Engagement.readiness_score, Engagement.readiness_parts)
        ).one()
        assert tuple(cleared) == (None, None)  # scored again from the facts
        db.session.remove()
        db.engine.dispose()


def test_0021_counts_the_engagements_that_exist_one_row_per_key(empty_app):
    from sqlalchemy import func, select, text

    from tests.factories import make_engagement, make_user
    from tracker.models import EngagementCount
    from tracker.services.judgments import engagement_counts

    with empty_app.app_context():
        upgrade()
        manager = make_user("manager")
        for _ in range(3):
            make_engagement(manager)
        db.session.execute(text("UPDATE engagement SET effective_health = 'red' WHERE id = 1"))
        db.session.execute(text("UPDATE engagement SET closed_at = created_at WHERE id = 2"))
        db.session.commit()
        db.session.remove()
        downgrade(revision="0020_pages")  # the ledger is dropped; the engagements stay
        upgrade(revision="0021_counts")
        assert engagement_counts.counts() == ({"discovery": 3}, {"red": 1, "green": 1})
        assert db.session.scalar(select(func.count()).select_from(EngagementCount)) == 3
        db.session.remove()
        db.engine.dispose()
