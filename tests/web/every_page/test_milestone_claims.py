"""Every surface reads a milestone's status from one judgment: an overdue milestone whose
provider last said "on track" is never badged On track anywhere, and the claim is shown as
a claim, with its date (issue 27 item 6)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import icalendar
import pytest

from tests.factories import add_milestone, make_engagement, make_user
from tests.notifications.conftest import subscribe
from tracker.core import clock
from tracker.extensions import db
from tracker.models import User
from tracker.notifications.digest_content import gather
from tracker.services.delivery import milestones as milestone_service
from tracker.services.exchange import calendar_feed

LATE = "Day-30 support deflection"
BADGES = re.compile(r'class="status status-([a-z_]+)" data-testid="status"[^>]*>([^<]+)<')


@pytest.fixture
def late(app):
    """A trial with a milestone due 53 days ago whose provider posted "on track" (no verdict)."""
    with app.app_context():
        manager = make_user("manager")
        provider = make_user("provider", provider="Northwind ML")
        engagement = make_engagement(manager, title="LLM support assistant")
        engagement.state = "trial"
        engagement.trial_start = date.today() - timedelta(days=83)
        engagement.trial_end = engagement.trial_start + timedelta(days=90)
        db.session.commit()
        milestone = add_milestone(engagement, days=-53, title=LATE)
        milestone_service.record_update(provider, milestone.id, status="on_track", note="fine")
        said = clock.now().date()
        return {
            "engagement": engagement.id,
            "milestone": milestone.id,
            "manager": manager.email,
            "provider": provider.email,
            "manager_id": manager.id,
            "claim": f"Provider said On track, {said:%-d %b %Y}",
        }


def _assert_page_reads_overdue(html: str, late: dict) -> None:
    badges = BADGES.findall(html)
    assert ("overdue", "Overdue — no verdict") in badges
    assert all(text != "On track" for _, text in badges), badges
    assert late["claim"] in html


@pytest.mark.parametrize(
    ("who", "url"), [("manager", "/dashboard"), ("provider", "/my-milestones")]
)
def test_lists_badge_the_late_milestone_overdue_with_the_dated_claim(client, auth, late, who, url):
    auth.login(late[who])
    html = client.get(url).get_data(as_text=True)
    assert LATE in html
    _assert_page_reads_overdue(html, late)


def test_engagement_page_list_and_timeline_read_overdue(client, auth, late):
    auth.login(late["manager"])
    html = client.get(f"/engagements/{late['engagement']}").get_data(as_text=True)
    _assert_page_reads_overdue(html, late)
    [group] = re.findall(r'<g class="milestone status-([a-z_]+)"[^>]*><title>([^<]+)</title>', html)
    assert group[0] == "overdue"
    assert "Overdue — no verdict" in group[1] and late["claim"] in group[1]
    assert "On track ·" not in group[1]


def test_api_keeps_the_stored_status_and_adds_the_displayed_one(client, auth, late):
    auth.login(late["provider"])
    body = client.get(f"/api/v1/milestones/{late['milestone']}").get_json()
    assert body["status"] == "on_track"  # the stored field stays as it was
    shown = body["displayed_status"]
    assert (shown["key"], shown["label"], shown["tone"]) == (
        "overdue",
        "Overdue — no verdict",
        "red",
    )
    assert shown["is_overdue"] is True
    assert shown["claim"] == {
        "status": "on_track",
        "on": clock.now().date().isoformat(),
        "text": late["claim"],
    }
    listed = client.get(f"/api/v1/engagements/{late['engagement']}/milestones").get_json()
    assert [m["displayed_status"]["key"] for m in listed] == ["overdue"]
    mine = client.get("/api/v1/milestones/mine").get_json()
    assert [m["displayed_status"]["label"] for m in mine] == ["Overdue — no verdict"]


def test_openapi_documents_the_displayed_status(client, late):
    spec = client.get("/api/v1/openapi.json").get_json()
    milestone = spec["components"]["schemas"]["Milestone"]
    assert "displayed_status" in milestone["required"]
    shown = spec["components"]["schemas"]["DisplayedStatus"]
    assert "overdue" in shown["properties"]["key"]["enum"]
    claim = shown["properties"]["claim"]["anyOf"]
    assert {"type": "object", "nullable": True} in claim
    assert {"$ref": "#/components/schemas/Claim"} in claim


def test_calendar_event_says_overdue_and_carries_the_claim(app, client, late):
    with app.app_context():
        user = db.session.get(User, late["manager_id"])
        path = calendar_feed.feed_url(calendar_feed.get_or_create_feed(user))
    body = client.get(path.removeprefix(app.config["BASE_URL"])).data
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    event = events[f"milestone-{late['milestone']}@localhost"]
    assert str(event["SUMMARY"]) == (
        f"LLM support assistant: milestone '{LATE}' overdue — no verdict"
    )
    description = str(event["DESCRIPTION"])
    assert "Milestone: Overdue — no verdict" in description and late["claim"] in description
    assert "On track" not in description.replace(late["claim"], "")


def test_digest_lists_it_as_overdue_with_the_claim_not_as_on_track(app, late):
    with app.app_context():
        manager = db.session.get(User, late["manager_id"])
        now = clock.now()
        content = gather(subscribe(manager), manager, now - timedelta(days=1), now, now.date())
    [section] = content.engagements
    [line] = [text for text in section.overdue if LATE in text]
    assert line.startswith(f"Milestone {LATE}: Overdue — no verdict ({late['claim']})")
    assert "(On track)" not in line and "53 days late" in line
