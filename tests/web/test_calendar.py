"""Calendar feeds: secret URLs, rotation, per-role scope, UIDs, SEQUENCE, ETag and validity."""

from __future__ import annotations

import re
from datetime import date, timedelta

import icalendar
import pytest
import vobject
from sqlalchemy import select

from tests.factories import add_member, add_milestone, make_engagement, make_user
from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, Milestone, ShadowAssignment, User
from tracker.services.exchange import calendar_feed


def _feed_path(app, user_id: int) -> str:
    with app.app_context():
        user = db.session.get(User, user_id)
        url = calendar_feed.feed_url(calendar_feed.get_or_create_feed(user))
    return url.removeprefix(app.config["BASE_URL"])


def _events(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def assert_strict_rfc5545(body: bytes) -> None:
    """RFC 5545 3.1: CRLF line ends, lines of at most 75 octets, folds begin with a space."""
    assert body.endswith(b"\r\n")
    lines = body.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert all(len(line) <= 75 for line in lines), max(lines, key=len)
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-1] == b"END:VCALENDAR"
    unfolded = re.sub(rb"\r\n[ \t]", b"", body).decode("utf-8")
    assert "VERSION:2.0" in unfolded and "PRODID:" in unfolded
    for block in unfolded.split("BEGIN:VEVENT")[1:]:
        for required in ("UID:", "DTSTAMP:", "DTSTART;VALUE=DATE:", "SEQUENCE:", "STATUS:"):
            assert required in block, required


@pytest.fixture
def world(app):
    """A manager's engagement with a milestone, a checklist item they own, and a shadow."""
    with app.app_context():
        manager = make_user("manager")
        other_manager = make_user("manager")
        engagement = make_engagement(manager, title="Ranking — Jörg's team")
        foreign = make_engagement(other_manager, title="Quanta forecasting", provider="Quanta")
        milestone = add_milestone(engagement, days=20, title="Offline AUC")
        add_milestone(foreign, days=25, title="Foreign milestone")
        item = db.session.scalars(
            select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
        ).first()
        item.owner_id, item.due_date = manager.id, date.today() + timedelta(days=3)
        member = add_member(engagement)
        shadow = make_user("stakeholder")
        assignment = ShadowAssignment(
            engagement_id=engagement.id,
            member_id=member.id,
            shadow_id=shadow.id,
            end_date=date.today() + timedelta(days=40),
        )
        db.session.add(assignment)
        engagement.trial_end = date.today() + timedelta(days=60)
        db.session.commit()
        provider = make_user("provider", provider="Northwind ML")
        stakeholder = make_user("stakeholder")
        engagement.followers.append(stakeholder)
        db.session.commit()
        return {
            "manager": manager.id,
            "other_manager": other_manager.id,
            "provider": provider.id,
            "stakeholder": stakeholder.id,
            "shadow": shadow.id,
            "engagement": engagement.id,
            "foreign": foreign.id,
            "milestone": milestone.id,
            "item": item.id,
            "assignment": assignment.id,
        }


def test_feed_is_valid_icalendar_for_two_parsers_and_rfc5545_framing(app, client, world):
    response = client.get(_feed_path(app, world["manager"]))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.data
    assert_strict_rfc5545(body)
    events = _events(body)
    host = "localhost"
    assert f"milestone-{world['milestone']}@{host}" in events
    assert f"checklist-{world['item']}@{host}" in events
    assert f"shadow-{world['assignment']}@{host}" in events
    assert f"engagement-{world['engagement']}-trial-end@{host}" in events
    milestone = events[f"milestone-{world['milestone']}@{host}"]
    assert "Ranking — Jörg's team" in str(milestone["SUMMARY"])
    assert "Health: green" in str(milestone["DESCRIPTION"])
    assert f"http://localhost/engagements/{world['engagement']}" in str(milestone["DESCRIPTION"])
    assert milestone.decoded("DTSTART") == date.today() + timedelta(days=20)
    assert int(milestone["SEQUENCE"]) == 0 and str(milestone["STATUS"]) == "CONFIRMED"
    # An independent parser reads the same events.
    parsed = vobject.readOne(body.decode("utf-8"))
    uids = {event.uid.value for event in parsed.vevent_list}
    assert uids == set(events)
    assert all("30000" not in str(e.get("DESCRIPTION")) for e in events.values())


def test_scope_per_role(app, client, world):
    manager = _events(client.get(_feed_path(app, world["manager"])).data)
    assert not any("Quanta forecasting" in str(e["SUMMARY"]) for e in manager.values())
    provider = _events(client.get(_feed_path(app, world["provider"])).data)
    summaries = " ".join(str(e["SUMMARY"]) for e in provider.values())
    assert "Offline AUC" in summaries and "Foreign milestone" not in summaries
    stakeholder = _events(client.get(_feed_path(app, world["stakeholder"])).data)
    assert f"milestone-{world['milestone']}@localhost" in stakeholder
    # A shadow who does not follow the engagement may not see it: nothing leaks.
    assert _events(client.get(_feed_path(app, world["shadow"])).data) == {}
    with app.app_context():
        other = db.session.get(User, world["other_manager"])
        calendar_feed.set_scope(other, "all")
    everything = _events(client.get(_feed_path(app, world["other_manager"])).data)
    assert f"milestone-{world['milestone']}@localhost" in everything


def test_sequence_rises_uid_stays_and_completion_cancels(app, client, world):
    path = _feed_path(app, world["manager"])
    uid = f"milestone-{world['milestone']}@localhost"
    first = client.get(path)
    assert int(_events(first.data)[uid]["SEQUENCE"]) == 0
    with app.app_context():
        milestone = db.session.get(Milestone, world["milestone"])
        milestone.due_date += timedelta(days=7)
        db.session.commit()
    moved = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200 and moved.headers["ETag"] != first.headers["ETag"]
    event = _events(moved.data)[uid]
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == date.today() + timedelta(days=27)
    again = _events(client.get(path).data)[uid]
    assert int(again["SEQUENCE"]) == 1  # nothing changed: no bump
    with app.app_context():
        db.session.get(Milestone, world["milestone"]).status = "met"
        db.session.commit()
    done = _events(client.get(path).data)[uid]
    assert str(done["STATUS"]) == "CANCELLED" and int(done["SEQUENCE"]) == 2


def test_unchanged_feed_answers_304_with_two_queries(app, client, world, query_counter):
    path = _feed_path(app, world["manager"])
    first = client.get(path)
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    with query_counter() as counter:
        second = client.get(path, headers={"If-None-Match": etag})
    assert second.status_code == 304 and second.data == b""
    assert counter.count == 2, [s[:80] for s in counter.statements]
    since = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304


def test_rotation_makes_the_old_url_404_at_once(app, client, auth, world):
    old = _feed_path(app, world["manager"])
    with app.app_context():
        email = db.session.get(User, world["manager"]).email
    auth.login(email)
    page = client.get("/calendar")
    assert old.encode() in page.data and b'data-copy-target="calendar-url"' in page.data
    token = auth.csrf()
    assert client.post("/calendar/rotate", data={"csrf_token": token}).status_code == 302
    assert client.get(old).status_code == 404
    new = _feed_path(app, world["manager"])
    assert new != old and client.get(new).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/nope.ics",
        "/calendar/cal_" + "A" * 43 + ".ics",
        "/calendar/cal_" + "A" * 500 + ".ics",
    ],
)
def test_unknown_secrets_are_404(client, path):
    assert client.get(path).status_code == 404


def test_per_engagement_feed_for_managers_only(app, client, world):
    manager = _feed_path(app, world["manager"]).removesuffix(".ics")
    one = client.get(f"{manager}/engagements/{world['engagement']}.ics")
    assert one.status_code == 200
    uids = set(_events(one.data))
    assert f"milestone-{world['milestone']}@localhost" in uids
    assert not any("Foreign" in uid for uid in uids)
    provider = _feed_path(app, world["provider"]).removesuffix(".ics")
    assert client.get(f"{provider}/engagements/{world['engagement']}.ics").status_code == 404
    assert client.get(f"{manager}/engagements/999999.ics").status_code == 404


def test_query_count_is_constant_in_the_number_of_events(app, client, world, query_counter):
    path = _feed_path(app, world["manager"])
    client.get(path)
    with query_counter() as few:
        client.get(path)
    with app.app_context():
        engagement = db.session.get(Engagement, world["engagement"])
        for days in range(30, 60):
            add_milestone(engagement, days=days, title=f"Extra {days}")
    client.get(path)
    with query_counter() as many:
        client.get(path)
    assert many.count == few.count, many.statements


def test_events_older_than_the_history_window_are_left_out(app, client, world):
    with app.app_context():
        engagement = db.session.get(Engagement, world["engagement"])
        old = add_milestone(engagement, days=-100, title="Long ago")
        recent = add_milestone(engagement, days=-10, title="Last week")
        old_id, recent_id = old.id, recent.id
    uids = set(_events(client.get(_feed_path(app, world["manager"])).data))
    assert f"milestone-{recent_id}@localhost" in uids
    assert f"milestone-{old_id}@localhost" not in uids


def test_query_count_is_constant_in_the_number_of_engagements(app, client, world, query_counter):
    path = _feed_path(app, world["manager"])
    client.get(path)
    with query_counter() as few:
        client.get(path)
    with app.app_context():
        manager = db.session.get(User, world["manager"])
        for n in range(6):
            add_milestone(make_engagement(manager, title=f"More {n}"), days=n + 1)
    client.get(path)
    with query_counter() as many:
        client.get(path)
    assert many.count == few.count, [s[:60] for s in many.statements]


def test_a_hold_is_one_event_until_its_expected_resume_and_leaves_on_resume(app, client, world):
    from tracker.services.workflow import transitions

    path = _feed_path(app, world["manager"])
    host = "localhost"
    uid = f"engagement-{world['engagement']}-hold@{host}"
    assert uid not in _events(client.get(path).data)
    back = date.today() + timedelta(days=21)
    with app.app_context():
        manager = db.session.get(User, world["manager"])
        transitions.fire(
            manager, world["engagement"], "put_on_hold",
            {"reason": "Client budget freeze", "expected_resume": back},
        )  # fmt: skip
    body = client.get(path).data
    assert_strict_rfc5545(body)
    events = _events(body)
    hold = events[uid]
    assert str(hold["SUMMARY"]) == "Ranking — Jörg's team: on hold (Client budget freeze)"
    assert str(hold["CATEGORIES"].cats[0]) == "On hold"
    assert hold.decoded("DTSTART") == date.today()
    assert hold.decoded("DTEND") == back  # exclusive: the engagement is expected back that day
    # The other events of the engagement say it is on hold too.
    milestone = events[f"milestone-{world['milestone']}@{host}"]
    assert "On hold since" in str(milestone["DESCRIPTION"])
    parsed = vobject.readOne(body.decode("utf-8"))
    [read] = [e for e in parsed.vevent_list if e.uid.value == uid]
    assert read.dtend.value == back
    with app.app_context():
        manager = db.session.get(User, world["manager"])
        transitions.fire(manager, world["engagement"], "resume", {})
    assert uid not in _events(client.get(path).data)
