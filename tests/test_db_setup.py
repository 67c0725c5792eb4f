"""A transaction that only read ends with COMMIT, so PostgreSQL keeps its prepared
statements; anything that wrote is still rolled back when the session closes (ADR 0253)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, text

from tests.factories import make_engagement, make_user
from tracker.db_setup import close_committing_reads
from tracker.extensions import db
from tracker.models import AuditEvent, Engagement, User

pytestmark = pytest.mark.postgres  # psycopg's prepared statements are the point


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_only_selects_are_committed_anything_else_is_left_to_roll_back(ctx):
    manager = make_user("manager")
    make_engagement(manager)
    db.session.commit()
    users = _count(User)

    db.session.scalars(select(Engagement)).all()
    db.session.execute(select(Engagement.id).union_all(select(Engagement.id))).all()
    assert close_committing_reads(db.session()) is True
    assert close_committing_reads(db.session()) is False  # nothing was open

    db.session.scalars(select(User)).all()
    db.session.add(User(email="pending@example.com", name="Pending", role="manager"))
    assert close_committing_reads(db.session()) is False  # a pending change

    audited = _count(AuditEvent)
    db.session.execute(
        insert(AuditEvent).values(kind="note", event="x", actor_label="test", reason="r")
    )
    assert close_committing_reads(db.session()) is False  # DML sent, not committed
    assert _count(AuditEvent) == audited  # and rolled back by the close

    db.session.execute(text("SELECT 1"))
    assert close_committing_reads(db.session()) is False  # text is not known to only read

    db.session.execute(select(User.id).limit(1).with_for_update())
    assert close_committing_reads(db.session()) is True  # a lock taken and released alike
    assert _count(User) == users


def test_the_end_of_a_context_that_wrote_without_committing_changes_nothing(app):
    """The teardown commits only reads: a write left uncommitted is rolled back, as before."""
    with app.app_context():
        make_user("manager")
        before = _count(AuditEvent)
        db.session.remove()
    with app.app_context():
        db.session.scalars(select(User)).all()
        db.session.execute(
            insert(AuditEvent).values(kind="note", event="x", actor_label="test", reason="r")
        )
    with app.app_context():
        assert _count(AuditEvent) == before
        db.session.remove()


def test_postgres_keeps_what_psycopg_prepared_between_requests(pg_app):
    from tests.conftest import AuthActions

    with pg_app.app_context():
        manager = make_user("manager")
        engagement_id, email = make_engagement(manager).id, manager.email
        db.session.remove()
    client = pg_app.test_client()
    assert AuthActions(client).login(email).status_code == 302
    for _ in range(7):  # psycopg prepares a statement at its fifth run on a connection
        assert client.get(f"/engagements/{engagement_id}").status_code == 200
    with pg_app.app_context():
        prepared = db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
        db.session.remove()
    assert prepared >= 10
