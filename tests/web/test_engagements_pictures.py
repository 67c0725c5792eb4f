"""The engagement page's two small pictures: cost burn (only for who may see cost) and the
health strip, whose last day always agrees with the Health card."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.factories import make_user
from tests.support.scheduler import trial_engagement
from tracker.extensions import db
from tracker.services.judgments import health

MONEY = re.compile(r"\b(EUR|USD|GBP) [\d,]+")


@pytest.fixture
def trial(app):
    with app.app_context():
        engagement, owner, provider = trial_engagement(date.today(), trial_day=30)
        return {"id": engagement.id, "owner": owner.email, "provider": provider.email}


def _card(html: str) -> str:
    return html.split('<section class="card" id="health">')[1].split("</section>")[0]


def _strip_days(html: str) -> list[tuple[str, int]]:
    strip = html.split('data-testid="health-strip"')[1].split("</figure>")[0]
    return [(h, int(d)) for h, d in re.findall(r'data-health="(\w+)"[^>]*data-days="(\d+)"', strip)]


def test_a_manager_sees_the_burn_with_its_figures_in_text(client, auth, trial):
    auth.login(trial["owner"])
    html = client.get(f"/engagements/{trial['id']}").get_data(as_text=True)
    figure = html.split('data-testid="cost-burn"')[1].split("</figure>")[0]
    assert '<svg class="cost-burn"' in figure and 'role="img"' in figure
    # 30,000 a month: 88,706 over the 90-day trial, 29,569 in its first 30 days
    assert "Expected EUR 88,706 over the trial (90 days" in figure
    # today is day 31 in the header and in the caption alike (one function says which
    # day it is); the money is for the 30 whole days before it
    assert "spent EUR 29,569 by day 31 of 90" in figure
    assert "(day 31 of 90)" in figure
    header = html.split('class="progress-text"')[1].split("</span>")[0]
    assert header.endswith("day 31 of 90"), header
    assert set(re.findall(r"day (\d+) of 90", html)) == {"31"}


def test_a_provider_page_has_no_cost_figure_and_no_cost_picture(client, auth, trial):
    auth.login(trial["provider"])
    response = client.get(f"/engagements/{trial['id']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="health-strip"' in html
    assert "cost-burn" not in html and "expected spend" not in html.lower()
    assert MONEY.search(html) is None, MONEY.search(html)
    assert "29,569" not in html and "88,706" not in html and "30,000" not in html


def test_outside_a_period_the_manager_reads_a_sentence_not_a_picture(app, client, auth, trial):
    with app.app_context():
        from tracker.models import Engagement

        db.session.get(Engagement, trial["id"]).state = "milestone_review"
        db.session.commit()
    auth.login(trial["owner"])
    html = client.get(f"/engagements/{trial['id']}").get_data(as_text=True)
    figure = html.split('data-testid="cost-burn"')[1].split("</figure>")[0]
    assert "<svg" not in figure and "No dated period is running" in figure
    assert 'data-testid="cost-to-date"' in html


@pytest.mark.parametrize("override", [None, "red", "green"])
def test_the_strip_ends_on_the_health_the_card_shows(app, client, auth, trial, override):
    with app.app_context():
        from tracker.models import Engagement

        owner = make_user("manager", name="Second Manager")
        if override:
            until = datetime.now(UTC) + timedelta(days=3)
            health.override_health(owner, trial["id"], override, "Known", until)
        cached = db.session.get(Engagement, trial["id"]).health  # judged at the set-up's commits
    auth.login(trial["owner"])
    html = client.get(f"/engagements/{trial['id']}").get_data(as_text=True)
    shown = re.search(r'class="health health-(\w+)"', _card(html)).group(1)
    days = _strip_days(html)
    assert days[-1][0] == shown
    assert shown == (override or cached)  # the cached judgment, or the live override
    # recorded today, in its trial since 30 days: the strip starts with the trial
    assert sum(d for _, d in days) == 31
    caption = html.split('data-testid="health-strip"')[1].split("</figure>")[0]
    assert "Last 31 days:" in caption and "Not recorded" in caption


def test_a_closed_engagement_says_when_cost_stopped_and_its_strip_ends_there(
    app, client, auth, trial
):
    with app.app_context():
        from tracker.models import Engagement

        engagement = db.session.get(Engagement, trial["id"])
        engagement.closed_at = datetime.now(UTC) - timedelta(days=2)
        db.session.commit()
    auth.login(trial["owner"])
    html = client.get(f"/engagements/{trial['id']}").get_data(as_text=True)
    figure = html.split('data-testid="cost-burn"')[1].split("</figure>")[0]
    assert "<svg" not in figure and "Closed: cost stopped on " in figure
    strip = html.split('data-testid="health-strip"')[1].split("</figure>")[0]
    assert "Closed " in strip and "Today" not in strip
