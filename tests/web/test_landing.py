"""The dashboard: filters and sorting in the URL, counts, and a constant number of queries."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import add_milestone, make_engagement, make_user
from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, Milestone


def _titles(html: str) -> list[str]:
    return re.findall(r'class="strong">([^<]+)</a>', html)


@pytest.fixture
def engagements(app):
    with app.app_context():
        owner = make_user("manager", name="Alice Owner")
        ids = []
        for title, provider in [("Bravo", "Northwind ML"), ("Alpha", "Quanta Labs")]:
            ids.append(make_engagement(owner, provider=provider, title=title).id)
        charlie = make_engagement(owner, provider="Northwind ML", title="Charlie")
        charlie.state = "trial"
        charlie.trial_start = date.today() - timedelta(days=10)
        charlie.trial_end = charlie.trial_start + timedelta(days=90)
        db.session.commit()
        add_milestone(charlie, days=-3, title="Late one", status="on_track")
        add_milestone(charlie, days=5, title="Soon one")
        add_milestone(charlie, days=20, title="X", status="blocked")  # judged red at commit
        return ids + [charlie.id]


def test_dashboard_shows_rows_counts_and_row_facts(client, sign_in, engagements):
    sign_in("manager")
    html = client.get("/dashboard").get_data(as_text=True)
    assert set(_titles(html)) == {"Alpha", "Bravo", "Charlie"}
    assert "Trial · day 11 of 90" in html
    assert "Late one" in html  # the next open milestone, overdue
    assert "Milestone 'X' is blocked" in html  # the reason behind the colour
    counts = html.split('data-testid="health-counts"')[1].split("</div>")[0]
    assert re.search(r'tile-count">1</span><span class="tile-label">Red', counts)
    assert re.search(r'tile-count">2</span><span class="tile-label">Green', counts)


def test_filters_and_sort_live_in_the_url(client, sign_in, engagements):
    sign_in("manager")
    assert _titles(client.get("/dashboard?sort=title").get_data(as_text=True)) == [
        "Alpha",
        "Bravo",
        "Charlie",
    ]
    assert _titles(client.get("/dashboard?sort=-title").get_data(as_text=True)) == [
        "Charlie",
        "Bravo",
        "Alpha",
    ]
    assert _titles(client.get("/dashboard?health=red").get_data(as_text=True)) == ["Charlie"]
    assert _titles(client.get("/dashboard?state=discovery&sort=title").get_data(as_text=True)) == [
        "Alpha",
        "Bravo",
    ]
    html = client.get("/dashboard?state=trial").get_data(as_text=True)
    assert 'href="/dashboard?state=trial&amp;sort=-health"' in html  # sorting keeps the filter


def test_provider_filter(client, sign_in, engagements, app):
    sign_in("manager")
    with app.app_context():
        provider_id = db.session.get(Engagement, engagements[1]).provider_id
    html = client.get(f"/dashboard?provider_id={provider_id}").get_data(as_text=True)
    assert _titles(html) == ["Alpha"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("health=purple", "health"),
        ("state=nope", "state"),
        ("sort=cost", "sort"),
        ("page=0", "page"),
        ("q=" + "x" * 201, "q"),
    ],
)
def test_bad_filter_is_a_4xx_naming_the_field(client, sign_in, engagements, query, field):
    sign_in("manager")
    response = client.get(f"/dashboard?{query}", headers={"Accept": "text/html"})
    assert response.status_code == 422
    assert f"&#39;{field}&#39;" in response.get_data(as_text=True)


def test_search_matches_title_problem_provider_and_owner_and_stays_in_the_url(
    client, sign_in, engagements, app
):
    with app.app_context():
        alpha = db.session.get(Engagement, engagements[1])
        alpha.problem_statement = "Cut FORECAST error by a third"
        db.session.commit()
    sign_in("manager")
    assert _titles(client.get("/dashboard?q=charl").get_data(as_text=True)) == ["Charlie"]
    assert _titles(client.get("/dashboard?q=forecast").get_data(as_text=True)) == ["Alpha"]
    assert _titles(client.get("/dashboard?q=quanta").get_data(as_text=True)) == ["Alpha"]
    by_owner = _titles(client.get("/dashboard?q=alice%20OWNER&sort=title").get_data(as_text=True))
    assert by_owner == ["Alpha", "Bravo", "Charlie"]
    html = client.get("/dashboard?q=%25_").get_data(as_text=True)
    assert _titles(html) == []  # LIKE wildcards are searched for literally
    html = client.get("/dashboard?q=brav").get_data(as_text=True)
    assert _titles(html) == ["Bravo"]
    assert 'name="q" value="brav"' in html  # the box shows what was searched
    assert 'href="/dashboard?q=brav&amp;sort=-health"' in html  # sorting keeps the search
    html = client.get("/dashboard?q=ha&per_page=1").get_data(as_text=True)
    assert "Page 1 of 2 · 2 engagements" in html  # the total counts the search too


def test_managers_and_providers_have_an_engagements_link(client, sign_in, engagements):
    sign_in("manager")
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/engagements"' in html.split("</nav>")[0]
    sign_in("stakeholder")
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/engagements"' not in html.split("</nav>")[0]


def test_closed_engagements_are_not_live(client, sign_in, engagements, app):
    with app.app_context():
        from tracker.core import clock

        closed = db.session.get(Engagement, engagements[0])
        closed.state, closed.closed_at = "closed", clock.now()
        db.session.commit()
    sign_in("manager")
    assert "Bravo" not in _titles(client.get("/dashboard").get_data(as_text=True))
    assert _titles(client.get("/dashboard?state=closed").get_data(as_text=True)) == ["Bravo"]


def _add_engagements(app, count: int) -> None:
    with app.app_context():
        owner = make_user("manager")
        for index in range(count):
            engagement = make_engagement(owner, provider=f"Provider {index % 3}")
            add_milestone(engagement, days=-1 - index)
            add_milestone(engagement, days=10 + index)
            item = db.session.scalars(
                db.select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
            ).first()
            item.due_date = date.today() - timedelta(days=2)
            db.session.commit()


def test_dashboard_query_count_is_constant(client, sign_in, app, query_counter):
    sign_in("manager")
    _add_engagements(app, 2)
    with query_counter() as few:
        assert client.get("/dashboard").status_code == 200
    _add_engagements(app, 10)
    with query_counter() as many:
        html = client.get("/dashboard").get_data(as_text=True)
    assert len(_titles(html)) == 12
    assert many.count == few.count, many.statements
    # 9 for the rows and filters + 1 for the readiness breakdowns stored on the rows
    # (recomputing them with readiness_many took 6) + 2 for "targets met n/m" (issue 27)
    assert many.count <= 12


def test_dashboard_shows_readiness_per_engagement(client, sign_in, app):
    sign_in("manager")
    _add_engagements(app, 2)
    html = client.get("/dashboard").get_data(as_text=True)
    assert html.count('data-testid="readiness"') == 2
    assert "Readiness" in html


def test_dashboard_draws_each_rows_readiness_as_a_bar_of_its_parts(client, sign_in, engagements):
    sign_in("manager")
    html = client.get("/dashboard?sort=title").get_data(as_text=True)
    rows = html.split('data-testid="engagement-row"')[1:]
    assert len(rows) == 3
    outlines = html.split('class="readiness-outlines"', 1)[1].split("</svg>", 1)[0]
    for row in rows:
        bar = row.split('class="readiness-bar compact" role="img">', 1)[1].split("</svg>", 1)[0]
        # the breakdown once, in counts, as the bar's name (tooltip and screen readers)
        assert bar.startswith("<title>Knowledge-transfer checklist: ")
        # the outline it uses is drawn once below the table, a rectangle per part
        outline_id = bar.split('<use href="#', 1)[1].split('"', 1)[0]
        outline = outlines.split(f'<symbol id="{outline_id}"', 1)[1].split("</symbol>", 1)[0]
        assert outline.count('<rect class="part-') >= 3


def test_state_tiles_and_choices_are_the_states_that_hold_engagements(client, sign_in, engagements):
    """Here: two in discovery, one in trial. The other definition file's states (engaged,
    review, handover) and empty ones are neither tiles nor filter choices, except the one
    chosen."""
    sign_in("manager")
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'value="trial"' in html and 'value="discovery"' in html
    for absent in ("engaged", "review", "handover", "milestone_review"):
        assert f'value="{absent}"' not in html, absent
    chosen = client.get("/dashboard?state=milestone_review").get_data(as_text=True)
    assert 'value="milestone_review" selected' in chosen


@pytest.fixture
def namesakes(app, engagements):
    """Beside Alice Owner's three: "Alice Ownerson" owns Delta at Quanta Labs."""
    with app.app_context():
        other = make_user("manager", name="Alice Ownerson")
        make_engagement(other, provider="Quanta Labs", title="Delta")
    return engagements


def test_the_owner_and_provider_pickers_filter_by_typed_name(client, sign_in, namesakes):
    """No script: the typed text is matched on the server. A fragment finds every name
    containing it; an exact name (what a suggestion fills in) only that one."""
    sign_in("manager")
    by = lambda query: _titles(client.get(f"/dashboard?sort=title&{query}").get_data(as_text=True))  # noqa: E731
    assert by("owner=alice") == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert by("owner=alice+OWNER") == ["Alpha", "Bravo", "Charlie"]  # exact, case-blind
    assert by("owner=ownerson") == ["Delta"]
    assert by("owner=nobody") == []
    assert by("owner=%25") == []  # a LIKE wildcard is a character, not "anything"
    assert by("provider=quanta+labs") == ["Alpha", "Delta"]
    assert by("provider=northwind&owner=Alice+Owner") == ["Bravo", "Charlie"]
    html = client.get("/dashboard?owner=alice+owner").get_data(as_text=True)
    assert 'name="owner" value="alice owner"' in html  # the box keeps what was typed
    html = client.get("/dashboard?owner=alice+owner&per_page=2").get_data(as_text=True)
    assert "Page 1 of 2 · 3 engagements" in html  # the total counts the picker too


def test_an_owner_or_provider_id_in_the_url_shows_its_name_in_the_picker(
    client, sign_in, namesakes, app
):
    with app.app_context():
        alpha = db.session.get(Engagement, namesakes[1])
        owner_id, provider_id = alpha.owner_id, alpha.provider_id
    sign_in("manager")
    html = client.get(f"/dashboard?owner_id={owner_id}&provider_id={provider_id}").get_data(
        as_text=True
    )
    assert _titles(html) == ["Alpha"]
    assert 'name="owner" value="Alice Owner"' in html
    assert 'name="provider" value="Quanta Labs"' in html
    # no list of every owner or provider inline: an empty datalist the script fills
    assert '<datalist id="owner-choices"></datalist>' in html
    assert "<option" not in html.split('name="owner"')[1].split("</form>")[0]


def test_a_too_long_picker_text_is_a_422_naming_it(client, sign_in, engagements):
    sign_in("manager")
    response = client.get("/dashboard?owner=" + "x" * 201, headers={"Accept": "text/html"})
    assert response.status_code == 422
    assert "&#39;owner&#39;" in response.get_data(as_text=True)


def test_picker_suggestions_are_names_the_user_could_filter_by(client, sign_in, namesakes):
    sign_in("manager")
    answer = client.get("/pickers/owner?q=ALICE").get_json()
    assert answer == {
        "kind": "owner",
        "q": "ALICE",
        "page": 1,
        "items": ["Alice Owner", "Alice Ownerson"],
        "next_page": None,
    }
    assert client.get("/pickers/provider?q=lab").get_json()["items"] == ["Quanta Labs"]
    # a provider's user: only their organisation's engagements, so only its owners
    sign_in("provider", provider="Quanta Labs")
    assert client.get("/pickers/owner").get_json()["items"] == ["Alice Owner", "Alice Ownerson"]
    sign_in("provider", provider="Northwind ML")
    assert client.get("/pickers/owner").get_json()["items"] == ["Alice Owner"]
    assert client.get("/pickers/provider").get_json()["items"] == ["Northwind ML"]


def test_picker_suggestions_come_a_page_at_a_time(client, sign_in, app):
    with app.app_context():
        for n in range(23):
            make_engagement(make_user("manager", name=f"Owner {n:02d}"), title=f"E{n}")
    sign_in("manager")
    first = client.get("/pickers/owner?q=owner").get_json()
    assert first["items"] == [f"Owner {n:02d}" for n in range(20)]
    assert first["next_page"] == 2
    second = client.get("/pickers/owner?q=owner&page=2").get_json()
    assert second["items"] == ["Owner 20", "Owner 21", "Owner 22"]
    assert second["next_page"] is None


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/pickers/owner?page=0", 422, "page"),
        ("/pickers/owner?page=x", 422, "page"),
        ("/pickers/owner?q=" + "x" * 201, 422, "q"),
        ("/pickers/email", 404, None),
    ],
)
def test_bad_picker_requests_are_4xx(client, sign_in, engagements, url, status, field):
    sign_in("manager")
    response = client.get(url)
    assert response.status_code == status
    if field:
        assert list(response.get_json()["errors"]) == [field]


def test_picker_suggestions_need_a_signed_in_user(client, engagements):
    response = client.get("/pickers/owner")
    assert response.status_code in (302, 401)
    assert b"Alice" not in response.get_data()


def test_the_tables_inline_cells_are_what_the_shared_macros_write(client, sign_in, app):
    """The table writes its badges inline (ADR 0257): each row's state, health (with and
    without its reasons listed, overridden or not), progress and next milestone's status
    are, byte for byte, what shared/_macros.html writes for the same row."""
    from tracker.core import clock
    from tracker.services.evidence.reads import as_claim_evidence, target_statuses
    from tracker.services.judgments import health as health_service
    from tracker.services.milestone_status import displayed_status
    from tracker.services.workflow import lifecycle

    with app.app_context():
        owner = make_user("manager", name="Mo Owner")
        plain = make_engagement(owner, title="Plain")
        trial = make_engagement(owner, title="In trial")
        trial.state = "trial"
        trial.trial_start = date.today() - timedelta(days=4)
        trial.trial_end = trial.trial_start + timedelta(days=60)
        db.session.commit()
        add_milestone(trial, days=-2, title="Late", status="on_track")
        add_milestone(trial, days=9, title="Blocked", status="blocked")  # judged red
        overridden = make_engagement(owner, title="Overridden")
        add_milestone(overridden, days=12, title="Ahead", status="at_risk")
        until = clock.now() + timedelta(days=3)
        health_service.override_health(owner, overridden.id, "red", "Ask Mo", until)
        health_service.override_health(owner, trial.id, "amber", "Known blocker", until)
        ids = (plain.id, trial.id, overridden.id)
    sign_in("manager")
    html = client.get("/dashboard").get_data(as_text=True)
    with app.test_request_context("/dashboard"):
        macros = app.jinja_env.get_template("shared/_macros.html").make_module({})
        today = clock.now().date()
        checked = set()
        for engagement_id in ids:
            e = db.session.get(Engagement, engagement_id)
            row = html.split(f'data-engagement-id="{e.id}"')[1].split("</tr>")[0]
            assert str(macros.state_badge(e)) in row
            health = e.effective_health
            if e.health_reasons and health != "green":
                badge = macros.health_badge(health, None, health != e.health, focusable=False)
                checked.add("listed")
            else:
                badge = macros.health_badge(health, e.health_reasons, health != e.health)
                checked.add("titled")
            assert str(badge) in row
            if health != e.health:
                checked.add("overridden")
            assert str(macros.progress(lifecycle.period_progress(e, today))) in row
            upcoming = db.session.scalars(
                select(Milestone).where(
                    Milestone.engagement_id == e.id, Milestone.status.not_in(("met", "missed"))
                )
            ).all()
            if upcoming:
                m = min(upcoming, key=lambda m: (m.due_date, m.id))
                evidence = as_claim_evidence(target_statuses([m.id]).get(m.id, ()))
                status = displayed_status(m, today, evidence)
                assert str(macros.milestone_status(status)) in row
                checked.add(status.key)
    assert {"listed", "titled", "overridden", "overdue", "at_risk"} <= checked, checked
    assert '<p class="small">Override: Known blocker</p>' in html
