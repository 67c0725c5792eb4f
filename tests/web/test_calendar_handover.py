"""The calendar feed carries a member's last day and the revocation of their access that day."""

from __future__ import annotations

from datetime import date, timedelta

import icalendar
import vobject

from tests.factories import add_member, make_engagement, make_user
from tests.web.test_calendar import _feed_path, assert_strict_rfc5545
from tracker.extensions import db
from tracker.services.handover import access
from tracker.services.staffing import team


def test_member_end_date_and_revocation_due_date_are_events(app, client):
    with app.app_context():
        manager = make_user("manager")
        engagement = make_engagement(manager, title="Churn handover")
        member = add_member(engagement, "Mara Quint")
        access.add_entry(manager, member.id, {"system": "GitHub", "kind": "code_repository"})
        end = date.today() + timedelta(days=12)
        team.update_member(manager, member.id, {"end_date": end})
        ids = {"manager": manager.id, "member": member.id}
        db.session.remove()
    body = client.get(_feed_path(app, ids["manager"])).data
    assert_strict_rfc5545(body)
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    last_day = events[f"member-{ids['member']}-end@localhost"]
    assert last_day.decoded("DTSTART") == end
    assert "Mara Quint's last day" in str(last_day["SUMMARY"])
    revocations = [e for e in events.values() if "Revoke Mara Quint's access" in str(e["SUMMARY"])]
    assert len(revocations) == 1 and revocations[0].decoded("DTSTART") == end
    parsed = vobject.readOne(body.decode("utf-8"))
    assert {event.uid.value for event in parsed.vevent_list} == set(events)
