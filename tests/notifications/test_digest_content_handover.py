"""Digests say which drills were recorded and which access is still open (issue 30)."""

from __future__ import annotations

from datetime import date, timedelta

from tests.factories import add_member, make_engagement, make_user
from tests.notifications.conftest import digest_emails, subscribe
from tracker.core import clock
from tracker.extensions import db
from tracker.models import ShadowAssignment
from tracker.notifications.digest_content import gather
from tracker.notifications.digests import run_due
from tracker.services.handover import access, drills


def _handover():
    manager = make_user("manager")
    engineer = make_user("stakeholder", name="Ivan Petrov")
    engagement = make_engagement(manager, title="Churn model handover")
    mara = add_member(engagement, "Mara Quint", areas=("serving",))
    tom = add_member(engagement, "Tom Ruiz", areas=("pipelines",))
    assignment = ShadowAssignment(
        engagement_id=engagement.id, member_id=mara.id, shadow_id=engineer.id, areas=["serving"]
    )
    db.session.add(assignment)
    db.session.commit()
    drills.record_drill(
        manager,
        assignment.id,
        {
            "area": "serving",
            "task": "Roll back the model",
            "performed_by_id": engineer.id,
            "performed_on": clock.now().date(),
            "outcome": "failed",
        },
    )
    access.add_entry(manager, mara.id, {"system": "GitHub org acme", "kind": "code_repository"})
    access.add_entry(manager, tom.id, {"system": "AWS ml-prod", "kind": "cloud_account"})
    mara.end_date = date.today() + timedelta(days=3)  # leaving soon: listed
    tom.end_date = date.today() + timedelta(days=60)  # not yet: left out
    db.session.commit()
    return manager, engagement


def test_a_digest_lists_drills_recorded_and_access_still_open(ctx):
    manager, engagement = _handover()
    sub = subscribe(manager)
    since = clock.now() - timedelta(days=1)
    content = gather(sub, manager, since, clock.now(), date.today())
    section = next(s for s in content.engagements if s.id == engagement.id)
    assert "Drill failed: Roll back the model (serving), alone by Ivan Petrov" in section.changes
    assert len(section.open_access) == 1
    assert section.open_access[0].startswith("Mara Quint: GitHub org acme, last day ")


def test_the_digest_email_says_it_in_text_and_html(ctx):
    manager, engagement = _handover()
    subscribe(manager)
    run_due((clock.now() + timedelta(days=1)).replace(hour=9))
    mail = next(e for e in digest_emails() if e.to_address == manager.email)
    for body in (mail.text_body, mail.html_body):
        assert "Access still open" in body and "Mara Quint: GitHub org acme" in body
        assert "AWS ml-prod" not in body
