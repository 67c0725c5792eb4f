"""The Evidence card, its forms and the scorecard: what they show, who may post, query counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from tests.factories import add_metric, add_milestone, add_target, make_engagement, make_user
from tracker.extensions import db
from tracker.models import Measurement


@pytest.fixture
def seeded(app):
    """A manager's engagement with a latency metric, a Day-30 target, a few measurements."""
    with app.app_context():
        manager = make_user("manager", email="m@example.com")
        provider = make_user("provider", email="p@northwind.example", provider="Northwind ML")
        engagement = make_engagement(manager, provider="Northwind ML", title="Fraud model")
        milestone = add_milestone(engagement, days=-2, title="Day-30")
        metric = add_metric(
            engagement,
            name="p95 latency",
            kind="latency",
            direction="lower",
            baseline=2600,
            unit="ms",
        )
        add_target(milestone, metric, 2000)
        _measure(engagement.id, metric.id, [2500, 2300, 2250])
        ids = {"engagement": engagement.id, "milestone": milestone.id, "metric": metric.id}
        ids["provider_email"], ids["manager_email"] = provider.email, manager.email
        db.session.remove()
    return ids


def _measure(engagement_id: int, metric_id: int, values) -> None:
    start = datetime.now(UTC) - timedelta(days=len(values) + 3)
    rows = []
    for i, value in enumerate(values):
        when = start + timedelta(days=i)
        rows.append(
            {"engagement_id": engagement_id, "metric_id": metric_id, "value": value,
             "measured_at": when, "measured_on": when.date(), "note": "", "created_at": when}
        )  # fmt: skip
    if rows:
        db.session.execute(insert(Measurement), rows)
        db.session.commit()


def test_the_engagement_page_draws_one_chart_per_metric_with_its_numbers(client, auth, seeded):
    auth.login(seeded["manager_email"])
    html = client.get(f"/engagements/{seeded['engagement']}").get_data(as_text=True)
    card = html.split('data-testid="evidence"')[1].split('<section class="card" id="milestones"')[0]
    assert card.count('class="metric-chart"') == 1
    assert "latest 2,250 ms" in card and "target 2,000 ms by" in card  # the text alternative
    assert f'data-testid="metric-table-{seeded["metric"]}"' in card
    assert "targets met 0/1" in card
    assert f'data-testid="suggested-{seeded["milestone"]}">Missed' in card
    assert f'href="/engagements/{seeded["engagement"]}/scorecard"' in card


def test_the_scorecard_shows_baseline_target_latest_trend_and_verdicts(client, auth, seeded):
    auth.login(seeded["provider_email"])
    response = client.get(f"/engagements/{seeded['engagement']}/scorecard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    row = html.split('data-status="not_met"')[1].split("</tr>")[0]
    assert "2,600 → ≤ 2,000" in row and "2,250" in row and "improving" in row
    assert f'data-testid="score-suggested-{seeded["milestone"]}">Missed' in html
    assert "no verdict yet" in html


def test_the_scorecard_of_an_engagement_one_may_not_see_is_404(client, auth, app, seeded):
    with app.app_context():
        make_user("provider", email="leo@quanta.example", provider="Quanta Labs")
    auth.login("leo@quanta.example")
    assert client.get(f"/engagements/{seeded['engagement']}/scorecard").status_code == 404


def test_page_and_scorecard_queries_do_not_grow_with_measurements(
    client, auth, app, seeded, query_counter
):
    auth.login(seeded["manager_email"])
    paths = [
        f"/engagements/{seeded['engagement']}",
        f"/engagements/{seeded['engagement']}/scorecard",
    ]
    counts = []
    for extra in (0, 400):
        with app.app_context():
            _measure(seeded["engagement"], seeded["metric"], [2100.0] * extra)
        found = []
        for path in paths:
            with query_counter() as counter:
                assert client.get(path).status_code == 200
            found.append(counter.count)
        counts.append(found)
    assert counts[0] == counts[1], counts


def test_a_provider_records_a_measurement_from_the_form_and_bad_input_is_422(client, auth, seeded):
    auth.login(seeded["provider_email"])
    page = client.get(f"/engagements/{seeded['engagement']}").get_data(as_text=True)
    from tests.conftest import csrf_from

    token = csrf_from(page)
    path = f"/metrics/{seeded['metric']}/measurements"
    bad = client.post(path, data={"csrf_token": token, "value": "fast"})
    assert bad.status_code == 422 and "value" in bad.get_data(as_text=True)
    good = client.post(path, data={"csrf_token": token, "value": "1,950"})
    assert good.status_code == 302
    html = client.get(f"/engagements/{seeded['engagement']}").get_data(as_text=True)
    assert "latest 1,950 ms" in html


def test_a_provider_may_not_define_metrics_from_the_page(client, auth, seeded):
    auth.login(seeded["provider_email"])
    page = client.get(f"/engagements/{seeded['engagement']}").get_data(as_text=True)
    assert 'data-testid="add-metric"' not in page
    from tests.conftest import csrf_from

    posted = client.post(
        f"/engagements/{seeded['engagement']}/metrics",
        data={
            "csrf_token": csrf_from(page),
            "name": "F1",
            "kind": "quality",
            "direction": "higher",
        },
    )
    assert posted.status_code == 403


def test_the_dashboard_shows_targets_met_per_engagement_at_constant_queries(
    client, auth, app, seeded, query_counter
):
    auth.login(seeded["manager_email"])
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="targets-met">targets met 0/1<' in html
    counts = []
    for extra in (0, 300):
        with app.app_context():
            _measure(seeded["engagement"], seeded["metric"], [1500.0] * extra)
        with query_counter() as counter:
            assert client.get("/dashboard").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


def test_a_verdict_against_the_evidence_from_the_page_needs_the_reason_field(
    client, auth, app, seeded
):
    auth.login(seeded["manager_email"])
    milestone_id = seeded["milestone"]
    page = client.get(f"/engagements/{seeded['engagement']}").get_data(as_text=True)
    assert f'href="/milestones/{milestone_id}/update"' in page  # its own page (issue 29)
    form = client.get(f"/milestones/{milestone_id}/update").get_data(as_text=True)
    assert f'name="m{milestone_id}-reason"' in form
    fields = {
        f"m{milestone_id}-csrf_token": auth.csrf(),
        f"m{milestone_id}-status": "met",
        f"m{milestone_id}-version": "1",
    }
    refused = client.post(f"/milestones/{milestone_id}/update", data=fields)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "goes against the evidence" in html
    fields[f"m{milestone_id}-reason"] = "Measured on the old cluster"
    given = client.post(f"/milestones/{milestone_id}/update", data=fields)
    assert given.status_code == 302
    shown = client.get(f"/engagements/{seeded['engagement']}").get_data(as_text=True)
    assert "Reason against the evidence: Measured on the old cluster" in shown
    assert "Verdict reason: Measured on the old cluster" in shown  # on the Evidence card too


def test_the_milestone_card_shows_a_claim_the_measurements_contradict(client, auth, app):
    """The provider says On track; the latest measurement misses the target: the card's
    badge reads as contradicted and the measured value stands beside it (ADR 0190)."""
    with app.app_context():
        manager = make_user("manager", email="m2@example.com")
        engagement = make_engagement(manager, title="Claims against numbers")
        milestone = add_milestone(engagement, days=10, title="Day-60")
        milestone.status = "on_track"
        metric = add_metric(engagement, name="p95 latency", kind="latency", direction="lower",
                            baseline=2600, unit="ms")  # fmt: skip
        add_target(milestone, metric, 2000)
        _measure(engagement.id, metric.id, [2500, 2250])
        engagement_id, milestone_id = engagement.id, milestone.id
        db.session.remove()
    auth.login("m2@example.com")
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    card = html.split(f'id="milestone-{milestone_id}"')[1].split("</header>")[0]
    assert "On track claimed — target not met" in card
    assert "Measured: p95 latency: 2,250 ms against ≤ 2,000 ms" in card
    assert ">On track<" not in card


def test_the_metric_form_offers_every_kind_the_model_knows_in_its_order(client, auth, seeded):
    """The kinds come from `MetricKind` (models/evidence.py), the one list a new kind goes in."""
    from html.parser import HTMLParser

    from tracker.models import MetricKind

    class Options(HTMLParser):
        inside, values = False, []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "select":
                self.inside = attrs.get("id") == "metric-kind"
            elif tag == "option" and self.inside:
                self.values.append(attrs["value"])

    auth.login(seeded["manager_email"])
    parser = Options()
    parser.feed(client.get(f"/engagements/{seeded['engagement']}").get_data(as_text=True))
    assert parser.values == [kind.value for kind in MetricKind]
    assert parser.values[:2] == ["quality", "latency"] and len(parser.values) == 6


def test_the_scorecard_says_not_met_yet_before_the_due_date_and_overdue_after(
    client, auth, app, seeded
):
    """A short target of a milestone not yet due reads "Not met yet" (as the reasons under
    the table say), not the red "Not met"; a past-due milestone without a verdict says so."""
    with app.app_context():
        from tracker.models import Engagement, SuccessMetric

        engagement = db.session.get(Engagement, seeded["engagement"])
        later = add_milestone(engagement, days=20, title="Day-60")
        add_target(later, db.session.get(SuccessMetric, seeded["metric"]), 1500)
        later_id = later.id
        db.session.remove()
    auth.login(seeded["manager_email"])
    html = client.get(f"/engagements/{seeded['engagement']}/scorecard").get_data(as_text=True)
    future = html.split(f'data-testid="score-milestone-{later_id}"')[1].split("</section>")[0]
    assert 'data-status="not_met_yet"' in future and "<strong>Not met yet</strong>" in future
    assert 'data-status="not_met"' not in future and "overdue" not in future
    past = html.split(f'data-testid="score-milestone-{seeded["milestone"]}"')[1]
    past = past.split("</section>")[0]
    assert 'data-status="not_met"' in past and "<strong>Not met</strong>" in past
    assert f'data-testid="score-overdue-{seeded["milestone"]}">overdue, no verdict' in past


def test_a_dashboard_row_with_every_target_met_names_its_missed_milestone(client, auth, app):
    """Every target met but the milestone judged missed: the row says both, and the
    shortfall links to the scorecard where the verdict's reason is (not "targets met 1/1"
    alone beside a red health badge)."""
    with app.app_context():
        manager = make_user("manager", email="m3@example.com")
        engagement = make_engagement(manager, title="Vision QA")
        missed = add_milestone(engagement, days=-2, title="Day-60")  # measured 4 days ago
        missed.status = "missed"
        metric = add_metric(engagement, name="Recall", kind="quality", direction="higher")
        add_target(missed, metric, 0.9)
        _measure(engagement.id, metric.id, [0.95])
        engagement_id = engagement.id
        db.session.commit()
        db.session.remove()
    auth.login("m3@example.com")
    html = client.get("/dashboard").get_data(as_text=True)
    row = html.split(f'data-engagement-id="{engagement_id}"')[1].split("</tr>")[0]
    assert 'data-level="red" data-testid="targets-met">targets met 1/1<' in row
    shortfall = row.split('data-testid="period-shortfall"')[1].split("</a>")[0]
    assert f'href="/engagements/{engagement_id}/scorecard"' in shortfall
    assert shortfall.endswith(">1 milestone missed")


def test_the_evidence_card_names_the_missed_milestone_beside_its_targets_met(client, auth, app):
    """The engagement page's "targets met" is the same judgment as the dashboard's line."""
    with app.app_context():
        manager = make_user("manager", email="m4@example.com")
        engagement = make_engagement(manager, title="Vision QA")
        missed = add_milestone(engagement, days=-2, title="Day-60")
        missed.status = "missed"
        metric = add_metric(engagement, name="Recall", kind="quality", direction="higher")
        add_target(missed, metric, 0.9)
        _measure(engagement.id, metric.id, [0.95])
        engagement_id = engagement.id
        db.session.commit()
        db.session.remove()
    auth.login("m4@example.com")
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    card = html.split('data-testid="evidence"')[1].split("</p>")[0]
    assert 'data-level="red" data-testid="targets-met">targets met 1/1<' in card
    assert 'data-testid="period-shortfall">1 milestone missed<' in card


def test_the_page_and_the_dashboard_count_the_same_targets_for_every_viewer(client, auth, app):
    """Both count the current period's targets, cost ones too (without their figures for
    who may not see cost): the same engagement never reads 1/2 on one and 2/2 on the other."""
    with app.app_context():
        manager = make_user("manager", email="m5@example.com")
        make_user("provider", email="p5@northwind.example", provider="Northwind ML")
        engagement = make_engagement(manager, provider="Northwind ML", title="Extended pod")
        trial = add_milestone(engagement, days=-20, title="Day-90", period=0, status="met")
        extension = add_milestone(engagement, days=10, title="Extension day-30", period=1)
        quality = add_metric(engagement, name="Recall", kind="quality", direction="higher")
        cost = add_metric(engagement, name="Cost per 1k", kind="cost", direction="lower")
        add_target(trial, quality, 0.9)
        add_target(extension, quality, 0.9)
        add_target(extension, cost, 10)
        _measure(engagement.id, quality.id, [0.95])
        _measure(engagement.id, cost.id, [12])
        engagement.current_period = 1
        db.session.commit()
        engagement_id, cost_id = engagement.id, cost.id
        db.session.remove()
    for email in ("m5@example.com", "p5@northwind.example"):
        auth.login(email)
        dashboard = client.get("/dashboard", follow_redirects=True).get_data(as_text=True)
        row = dashboard.split(f'data-engagement-id="{engagement_id}"')[1].split("</tr>")[0]
        page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
        card = page.split('data-testid="evidence"')[1].split("</p>")[0]
        count = 'data-level="open" data-testid="targets-met">targets met 1/2<'
        assert count in row and count in card, email
        assert (f'id="metric-{cost_id}"' in page) is (email == "m5@example.com")
        # the health reason naming the cost metric is everyone's; its link only where the
        # chart it points at is drawn
        reasons = page.split('data-testid="health-reasons"')[1].split("</ul>")[0]
        assert "Cost per 1k" in reasons
        assert (f'href="#metric-{cost_id}"' in reasons) is (email == "m5@example.com")
        auth.logout()
