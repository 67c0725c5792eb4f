"""The one read model for engagement lists: the same query means the same rows everywhere."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest

from tests.factories import make_engagement, make_user
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, User
from tracker.schemas.engagement import SORT_KEYS
from tracker.services.judgments import engagement_counts
from tracker.services.read_model import engagement_list
from tracker.services.read_model.engagement_list import ListQuery

# On PostgreSQL too (ADR 0216): case-insensitive search and ordering (lower(), collation).
pytestmark = pytest.mark.postgres


@pytest.fixture
def people(app):
    """A manager with four engagements from two providers, in three states and healths."""
    with app.app_context():
        manager = make_user("manager", name="Mira Manager")
        make_user("admin", name="Ada Admin")
        titles = {}
        for title, provider in [
            ("Bravo churn", "Quanta Labs"),
            ("alpha fraud", "Northwind ML"),
            ("Delta vision", "Northwind ML"),
            ("Charlie search", "Quanta Labs"),
        ]:
            titles[title] = make_engagement(manager, title=title, provider=provider).id
        # Two healths besides green, written straight to the cached column the lists read
        # (a bulk UPDATE: the derived-data hooks would recompute them from the data).
        for title, health in [("Delta vision", "red"), ("Bravo churn", "amber")]:
            db.session.execute(
                db.update(Engagement)
                .where(Engagement.id == titles[title])
                .values(effective_health=health)
            )
        engagement_counts.recount(db.session)  # what the app's writers would have recorded
        db.session.commit()
        return {"manager": manager.id, "titles": titles}


def _titles(page) -> list[str]:
    return [row.engagement.title for row in page.rows]


def test_every_sort_key_orders_and_ties_break_by_id(app, people):
    with app.app_context():
        manager = db.session.get(User, people["manager"])
        for key in SORT_KEYS:
            for descending in (False, True):
                query = ListQuery(sort=key, descending=descending)
                page = engagement_list.list_page(manager, query)
                assert len(page.rows) == 4 and page.total == 4, key
        title_up = engagement_list.list_page(manager, ListQuery(sort="title", descending=False))
        assert _titles(title_up) == ["alpha fraud", "Bravo churn", "Charlie search", "Delta vision"]
        health = engagement_list.list_page(manager, ListQuery(sort="health", descending=False))
        assert [row.health for row in health.rows][:2] == ["red", "amber"]  # worst first


def test_dashboard_api_and_csv_select_the_same_rows_in_the_same_order(app, client, auth, people):
    from tracker.services.administration.users import create_token

    with app.app_context():
        manager = db.session.get(User, people["manager"])
        email = manager.email
        _row, token = create_token(manager)
        db.session.commit()
    params = "q=quanta&sort=-title"  # a provider's name: the search reaches provider names
    api = client.get(
        f"/api/v1/engagements?{params}", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    api_titles = [item["title"] for item in api["items"]]
    assert api_titles == ["Charlie search", "Bravo churn"]

    api_csv = client.get(
        f"/api/v1/engagements/export.csv?{params}", headers={"Authorization": f"Bearer {token}"}
    ).get_data(as_text=True)
    auth.login(email)
    page_csv = client.get(f"/engagements.csv?{params}").get_data(as_text=True)
    dashboard = client.get(f"/dashboard?{params}").get_data(as_text=True)
    for text in (api_csv, page_csv):
        rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
        assert [row["title"] for row in rows] == api_titles
    assert dashboard.index("Charlie search") < dashboard.index("Bravo churn")
    assert "alpha fraud" not in dashboard


def test_one_parser_names_the_field_for_pages_and_api(app, people):
    with app.app_context():
        for args, field in [
            ({"sort": "cost"}, "sort"),
            ({"state": "nowhere"}, "state"),
            ({"provider_id": "abc"}, "provider_id"),
            ({"per_page": "101"}, "per_page"),
            ({"q": "x" * 201}, "q"),
        ]:
            with pytest.raises(ValidationFailed) as refused:
                engagement_list.parse_args(args)
            assert field in refused.value.errors, args
        parsed = engagement_list.parse_args({"sort": "-owner", "q": "  two   words ", "state": ""})
        assert (parsed.sort, parsed.descending, parsed.q, parsed.state) == (
            "owner", True, "two words", None,
        )  # fmt: skip


def test_live_only_leaves_closed_out_unless_a_state_is_asked_for(app, people):
    from tracker.core import clock

    with app.app_context():
        closed = db.session.get(Engagement, people["titles"]["alpha fraud"])
        closed.closed_at = clock.now()
        state = closed.state
        db.session.commit()
        manager = db.session.get(User, people["manager"])
        everything = engagement_list.list_page(manager, ListQuery())
        live = engagement_list.list_page(manager, ListQuery(live_only=True))
        asked = engagement_list.list_page(manager, ListQuery(live_only=True, state=state))
        assert everything.total == 4 and live.total == 3
        assert "alpha fraud" in _titles(asked)


def test_a_page_costs_the_same_statements_whatever_its_size(app, people, query_counter):
    with app.app_context():
        manager = db.session.get(User, people["manager"])
        with query_counter() as small:
            engagement_list.list_page(manager, ListQuery(per_page=1, sort="owner"))
        for index in range(12):
            make_engagement(manager, title=f"More {index}")
        db.session.expire_all()
        manager = db.session.get(User, people["manager"])
        with query_counter() as large:
            page = engagement_list.list_page(manager, ListQuery(per_page=100, sort="owner"))
        assert len(page.rows) == 16
        assert large.count == small.count, large.statements


def _summary_columns_read() -> set[str]:
    """The columns the summary schema's fields read: `owner.id`, `owner.name` for a
    nested owner (schemas.common.result_row_dumper)."""
    from marshmallow import fields as kinds

    from tracker.schemas.engagement import EngagementSummarySchema

    read = set()
    for name, field in EngagementSummarySchema._declared_fields.items():
        attribute = field.attribute or name
        if isinstance(field, kinds.Nested):
            read |= {f"{attribute}.{inner}" for inner in field.schema.fields}
        else:
            read.add(attribute)
    return read


def test_api_rows_read_as_result_rows_dump_as_the_engagements_would(app, people):
    """The API list's rows are result rows of the summary columns, not engagements: every
    field of the summary schema has its column, and the JSON is the one the same schema
    gives for the ORM engagements themselves, field for field and in the same order."""
    from tracker.schemas.engagement import engagement_schema, summary_row_dumper

    with app.app_context():
        manager = db.session.get(User, people["manager"])
        for sort in ("title", "-health", "provider"):
            query = engagement_list.query_from_args({"sort": sort})
            page = engagement_list.list_page(manager, query, facts=False)
            assert _summary_columns_read() <= set(page.columns)
            assert not any(isinstance(item, Engagement) for item in page.items)
            ids = [item[page.columns.index("id")] for item in page.items]
            engagements = [db.session.get(Engagement, i) for i in ids]
            assert len(engagements) == 4
            for can_view_cost in (True, False):
                schema = engagement_schema(can_view_cost, many=True, summary=True)
                dump_row = summary_row_dumper(can_view_cost, page.columns)
                dumped = [dump_row(item) for item in page.items]
                assert len(dumped[0]) == len(schema.fields)
                # the very same JSON text, without marshmallow
                assert json.dumps(dumped) == json.dumps(schema.dump(engagements))
        db.session.remove()


@pytest.mark.parametrize("search", [None, "a"])  # a text search builds its own statement
def test_the_api_page_counts_its_total_in_the_statement_that_reads_it(
    app, people, query_counter, search
):
    """One statement for a page and its total; a page past the last has no row to carry
    the total, so it is counted on its own then."""
    with app.app_context():
        manager = db.session.get(User, people["manager"])
        for page_number, rows, statements in [(1, 3, 1), (2, 1, 1), (3, 0, 2)]:
            query = replace(ListQuery(q=search, per_page=3), page=page_number)
            with query_counter() as counter:
                page = engagement_list.list_page(manager, query, facts=False)
            assert (len(page.items), page.total) == (rows, 4), page_number
            assert counter.count == statements, counter.statements
        nothing = engagement_list.list_page(manager, ListQuery(q="no such"), facts=False)
        assert (nothing.items, nothing.total) == ([], 0)
        known = engagement_list.list_page(manager, ListQuery(per_page=2), facts=False, total=99)
        assert (len(known.items), known.total) == (2, 99)  # the caller's total, not counted
        db.session.remove()


def test_each_row_has_its_earliest_open_milestone_and_counts_only_open_late_ones(app, people):
    """Next milestone and overdue milestones, read in one statement for the page: met,
    missed and removed milestones count for neither; ties on the due date go by id."""
    from datetime import date, timedelta

    from tests.factories import add_milestone
    from tracker.core import clock

    with app.app_context():
        manager = db.session.get(User, people["manager"])
        delta = db.session.get(Engagement, people["titles"]["Delta vision"])
        add_milestone(delta, days=-20, status="met", title="Met long ago")
        add_milestone(delta, days=-15, status="missed", title="Missed")
        removed = add_milestone(delta, days=-12, title="Removed")
        removed.removed_at = clock.now()
        add_milestone(delta, days=-5, title="Late, second")
        late_first = add_milestone(delta, days=-10, title="Late, first")
        add_milestone(delta, days=-10, status="at_risk", title="Late, same day")
        add_milestone(delta, days=30, title="Ahead")
        bravo = db.session.get(Engagement, people["titles"]["Bravo churn"])
        add_milestone(bravo, days=14, title="Only ahead")
        db.session.commit()
        page = engagement_list.list_page(manager, ListQuery(sort="title"), today=date.today())
        rows = {row.engagement.title: row for row in page.rows}
        assert rows["Delta vision"].next_milestone.id == late_first.id
        assert rows["Delta vision"].overdue_milestones == 3
        assert rows["Bravo churn"].next_milestone.title == "Only ahead"
        assert rows["Bravo churn"].overdue_milestones == 0
        assert rows["alpha fraud"].next_milestone is None
        assert rows["alpha fraud"].overdue_milestones == 0
        later = engagement_list.list_page(
            manager, ListQuery(sort="title"), today=date.today() + timedelta(days=31)
        )
        assert {r.engagement.title: r.overdue_milestones for r in later.rows}["Delta vision"] == 4


def test_view_rows_show_what_the_entities_would(app, people):
    """`views=True` (the dashboard's table) reads Core rows into read-only views: the same
    rows in the same order for every sort, each view column, the provider's and owner's
    names, the facts and the next milestone's fields equal to what the entities give, and
    the lifecycle reads a view as it reads the engagement."""
    from datetime import date

    from tests.factories import add_milestone
    from tracker.services.workflow import lifecycle

    with app.app_context():
        delta = db.session.get(Engagement, people["titles"]["Delta vision"])
        add_milestone(delta, days=-3, title="Late one", status="at_risk")
        add_milestone(delta, days=9, title="Ahead")
        db.session.commit()
        manager = db.session.get(User, people["manager"])
        today = date.today()
        for key in SORT_KEYS:
            query = ListQuery(sort=key, descending=key == "health")
            entities = engagement_list.list_page(manager, query, today=today).rows
            views = engagement_list.list_page(manager, query, today=today, views=True).rows
            assert [r.engagement.id for r in views] == [r.engagement.id for r in entities], key
            for view, entity in zip(views, entities, strict=True):
                v, e = view.engagement, entity.engagement
                assert isinstance(v, engagement_list.EngagementView)
                for name in engagement_list.VIEW_COLUMNS:
                    assert getattr(v, name) == getattr(e, name), name
                assert (v.provider.name, v.owner.name) == (e.provider.name, e.owner.name)
                assert view.health == entity.health
                assert (view.overdue, view.readiness_score, view.readiness_gaps) == (
                    entity.overdue,
                    entity.readiness_score,
                    entity.readiness_gaps,
                )
                assert lifecycle.state_of(v) == lifecycle.state_of(e)
                assert lifecycle.period_progress(v, today) == lifecycle.period_progress(e, today)
                assert lifecycle.hold_text(v) == lifecycle.hold_text(e)
                if entity.next_milestone is None:
                    assert view.next_milestone is None
                    continue
                for name in engagement_list.MilestoneView._fields:
                    assert getattr(view.next_milestone, name) == getattr(
                        entity.next_milestone, name
                    ), name
        query = ListQuery(sort="title", descending=False)
        rows = engagement_list.list_page(manager, query, views=True).rows
        assert rows[-1].next_milestone.title == "Late one"  # Delta vision, the last by title
        with pytest.raises(AttributeError):
            rows[0].engagement.title = "changed"  # a view is read, never written
        db.session.remove()
