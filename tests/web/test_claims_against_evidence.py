"""A claim the measurements contradict reads as contradicted on every surface, not only in
the API and on the milestone cards (issue 27 item 6): the dashboard row, the engagements
list, "My milestones", the timeline, the calendar feed and the digest all call
`displayed_status` with the judged targets, read once per page whatever its size."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import insert

from tests.factories import add_metric, add_milestone, add_target, make_engagement, make_user
from tests.notifications.conftest import subscribe
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Measurement, User
from tracker.notifications.digest_content import gather
from tracker.services.delivery import milestones as milestone_service
from tracker.services.exchange import calendar_feed

ORG = "Northwind ML"
TITLE = "Day-60 latency"
CONTRADICTED = "On track claimed — target not met"
BADGES = re.compile(r'class="status status-([a-z_]+)" data-testid="status"[^>]*>([^<]+)<')
PROVIDER = "count-p@northwind.example"
MEASURED = "Measured: p95 latency: 2,250 ms against ≤ 2,000 ms"


def _measure(engagement_id: int, metric_id: int, values) -> None:
    start = datetime.now(UTC) - timedelta(days=len(values) + 3)
    rows = []
    for i, value in enumerate(values):
        when = start + timedelta(days=i)
        rows.append(
            {"engagement_id": engagement_id, "metric_id": metric_id, "value": value,
             "measured_at": when, "measured_on": when.date(), "note": "", "created_at": when}
        )  # fmt: skip
    db.session.execute(insert(Measurement), rows)
    db.session.commit()


def _contradicted_trial(manager: User, provider: User, title: str, *, cost: bool = False):
    """A trial whose milestone, due in 5 days, the provider calls On track while the latest
    latency measurement misses its target (and, with `cost`, a cost target too)."""
    engagement = make_engagement(manager, provider="Northwind ML", title=title)
    milestone = add_milestone(engagement, days=5, title=TITLE)
    metric = add_metric(engagement, name="p95 latency", kind="latency", direction="lower",
                        baseline=2600, unit="ms")  # fmt: skip
    add_target(milestone, metric, 2000)
    _measure(engagement.id, metric.id, [2500, 2250])
    if cost:
        spend = add_metric(engagement, name="Cost per 1k calls", kind="cost", direction="lower",
                           baseline=9.5, unit="EUR")  # fmt: skip
        add_target(milestone, spend, 4)
        _measure(engagement.id, spend.id, [7.25])
    milestone_service.record_update(provider, milestone.id, status="on_track", note="fine")
    return engagement, milestone


@pytest.fixture
def claimed(app):
    with app.app_context():
        manager = make_user("manager", email="claims-m@example.com")
        provider = make_user("provider", email="claims-p@northwind.example", provider=ORG)
        engagement, milestone = _contradicted_trial(manager, provider, "Claims against numbers")
        ids = {"engagement": engagement.id, "milestone": milestone.id}
        ids |= {"manager": manager.email, "provider": provider.email, "manager_id": manager.id}
        db.session.remove()
    return ids


def _reads_contradicted(html: str) -> None:
    badges = BADGES.findall(html)
    assert ("contradicted", CONTRADICTED) in badges, badges
    assert all(text != "On track" for _, text in badges), badges
    assert MEASURED in html


@pytest.mark.parametrize(
    ("who", "url"),
    [("manager", "/dashboard"), ("provider", "/engagements"), ("provider", "/my-milestones")],
)
def test_lists_read_the_claim_as_contradicted_with_the_measured_value(
    client, auth, claimed, who, url
):
    auth.login(claimed[who])
    html = client.get(url).get_data(as_text=True)
    assert TITLE in html
    _reads_contradicted(html)


def test_the_timeline_marks_the_claim_contradicted(client, auth, claimed):
    auth.login(claimed["manager"])
    html = client.get(f"/engagements/{claimed['engagement']}").get_data(as_text=True)
    [(key, title)] = re.findall(
        r'<g class="milestone status-([a-z_]+)"[^>]*><title>([^<]+)</title>', html
    )
    assert key == "contradicted"
    assert CONTRADICTED in title and MEASURED in title
    assert " · On track ·" not in title
    legend = re.findall(r'class="legend-item" data-status="([a-z_]+)"', html)
    assert "contradicted" in legend  # the mark the timeline draws is explained


def test_the_calendar_event_carries_the_contradiction(app, client, claimed):
    with app.app_context():
        user = db.session.get(User, claimed["manager_id"])
        path = calendar_feed.feed_url(calendar_feed.get_or_create_feed(user))
    body = client.get(path.removeprefix(app.config["BASE_URL"])).data
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    description = str(events[f"milestone-{claimed['milestone']}@localhost"]["DESCRIPTION"])
    assert f"Milestone: {CONTRADICTED}" in description
    assert MEASURED in description


def test_the_digest_lists_the_claim_as_contradicted(app, claimed):
    with app.app_context():
        manager = db.session.get(User, claimed["manager_id"])
        now = clock.now()
        content = gather(subscribe(manager), manager, now - timedelta(days=1), now, now.date())
    [section] = content.engagements
    [line] = [text for text in section.due if TITLE in text]
    assert line.startswith(f"Milestone {TITLE}: {CONTRADICTED} (Provider said On track, ")


def test_a_provider_sees_a_missed_cost_target_weigh_without_its_figures(app, client, auth):
    """Cost figures stay hidden from providers, yet the claim reads the same to them."""
    with app.app_context():
        manager = make_user("manager", email="cost-m@example.com")
        provider = make_user("provider", email="cost-p@northwind.example", provider="Northwind ML")
        _contradicted_trial(manager, provider, "Cost hidden", cost=True)
        db.session.remove()
    auth.login("cost-p@northwind.example")
    html = client.get("/my-milestones").get_data(as_text=True)
    _reads_contradicted(html)
    assert "Cost per 1k calls: short of its target (cost figures are not shown to you)" in html
    assert "7.25" not in html and "EUR" not in html
    auth.logout()
    auth.login("cost-m@example.com")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Measured: Cost per 1k calls: 7.25 EUR against ≤ 4 EUR" in html


def test_surfaces_read_the_evidence_in_a_fixed_number_of_statements(
    app, client, auth, query_counter
):
    """Two or six contradicted trials: the same statements for each surface."""
    with app.app_context():
        manager = make_user("manager", email="count-m@example.com")
        provider = make_user("provider", email=PROVIDER, provider="Northwind ML")
        for i in range(2):
            _contradicted_trial(manager, provider, f"Counted {i}")
        feed = calendar_feed.feed_url(calendar_feed.get_or_create_feed(manager))
        feed = feed.removeprefix(app.config["BASE_URL"])
        people = manager.id, provider.id
        db.session.remove()

    def counts(trials: int) -> dict[str, int]:
        found = {}
        pages = [("count-m@example.com", "/dashboard"), (PROVIDER, "/my-milestones"),
                 (PROVIDER, "/engagements"), (None, feed)]  # fmt: skip
        for email, url in pages:
            if email:
                auth.login(email)
            client.get(url)  # warm-up
            with query_counter() as counter:
                html = client.get(url).get_data(as_text=True)
            shown = html.replace("\r\n ", "").count(CONTRADICTED)  # iCalendar folds lines
            assert shown == trials, (url, shown)
            found[url] = counter.count
            if email:
                auth.logout()
        return found

    few = counts(2)
    with app.app_context():
        manager, provider = (db.session.get(User, i) for i in people)
        for i in range(2, 6):
            _contradicted_trial(manager, provider, f"Counted {i}")
        db.session.remove()
    many = counts(6)
    assert many == few
