"""`flask counts check` finds kept counts that drifted from the rows; `recount` mends them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.factories import make_engagement, make_user
from tracker.extensions import db


@pytest.mark.postgres  # the PostgreSQL path takes table locks
def test_check_finds_a_hand_edit_and_recount_mends_it(app):
    runner = app.test_cli_runner()
    with app.app_context():
        manager = make_user("manager")
        for _ in range(2):
            make_engagement(manager)
        result = runner.invoke(args=["counts", "check"])
        assert result.exit_code == 0, result.output
        assert "live, by health: green 2" in result.output
        assert "the kept counts match the rows" in result.output

        # an operator's UPDATE by hand, which no writer of the app recorded
        db.session.execute(text("UPDATE engagement SET effective_health = 'red'"))
        db.session.commit()
        db.session.remove()
        result = runner.invoke(args=["counts", "check"])
        assert result.exit_code == 1
        assert "kept:     by state: discovery 2; live, by health: green 2" in result.output
        assert "the rows: by state: discovery 2; live, by health: red 2" in result.output
        assert "flask counts recount" in result.output

        result = runner.invoke(args=["counts", "recount"])
        assert result.exit_code == 0, result.output
        assert "recounted: by state: discovery 2; live, by health: red 2" in result.output
        assert runner.invoke(args=["counts", "check"]).exit_code == 0
        db.session.remove()
