"""Digests list the change requests waiting for a decision (issue 31)."""

from __future__ import annotations

from datetime import date, timedelta

from tests.factories import add_milestone, make_engagement, make_user
from tests.notifications.conftest import digest_emails, subscribe
from tracker.core import clock
from tracker.extensions import db
from tracker.models import ChangeRequest
from tracker.notifications.digest_content import gather
from tracker.notifications.digests import run_due
from tracker.services.change_requests import service


def _waiting():
    manager = make_user("manager")
    provider = make_user("provider", provider="Northwind ML", name="Pia Provider")
    engagement = make_engagement(manager, title="Fraud model trial")
    engagement.state = "trial"
    engagement.trial_start = engagement.period_start = date.today()
    engagement.trial_end = engagement.period_end = date.today() + timedelta(days=90)
    db.session.commit()
    milestone = add_milestone(engagement)
    change = {"target": "milestone", "id": milestone.id, "field": "due_date"}
    requests = []
    for days, why in ((45, "Labels late"), (50, "Scope added")):
        change["to"] = (date.today() + timedelta(days=days)).isoformat()
        requests.append(
            service.raise_request(provider, engagement.id, {"changes": [change], "why": why})
        )
    requests[0].created_at = clock.now() - timedelta(days=4)
    db.session.commit()
    service.withdraw(provider, requests[1].id)  # withdrawn: not listed
    return manager, engagement, requests[0]


def test_a_digest_lists_open_change_requests_with_how_long_they_wait(ctx):
    manager, engagement, request = _waiting()
    content = gather(
        subscribe(manager), manager, clock.now() - timedelta(days=1), clock.now(), date.today()
    )
    section = next(s for s in content.engagements if s.id == engagement.id)
    assert section.open_change_requests == [
        f"#{request.id} Labels late (by Pia Provider, waiting 4 days)"
    ]
    assert db.session.get(ChangeRequest, request.id).state == "proposed"


def test_the_digest_email_says_it_in_text_and_html(ctx):
    manager, engagement, request = _waiting()
    subscribe(manager)
    run_due((clock.now() + timedelta(days=1)).replace(hour=9))
    mail = next(e for e in digest_emails() if e.to_address == manager.email)
    for body in (mail.text_body, mail.html_body):
        assert "Change requests waiting for a decision" in body
        assert f"#{request.id} Labels late" in body and "Scope added" not in body
