"""The engagement page's health card: reasons link to their items; an override hides nothing."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from tests.factories import make_engagement, make_user
from tracker.extensions import db
from tracker.models import ChecklistItem
from tracker.services.delivery import checklists
from tracker.services.judgments import health


def _overdue_engagement():
    manager = make_user("manager", name="Dana Lee")
    started = date.today() - timedelta(days=30)
    engagement = make_engagement(manager, title="Overdue contact", discovery_start=started)
    item = db.session.scalars(
        select(ChecklistItem).where(
            ChecklistItem.engagement_id == engagement.id, ChecklistItem.kind == "prerequisite"
        )
    ).first()
    checklists.update_item(manager, item.id, {"due_date": date.today() - timedelta(days=3)})
    return manager, engagement, item


def test_each_reason_links_to_the_item_it_names(app, client, auth):
    with app.app_context():
        manager, engagement, item = _overdue_engagement()
        email, engagement_id, item_id, title = manager.email, engagement.id, item.id, item.title
    auth.login(email)
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    card = html.split('<section class="card" id="health">')[1].split("</section>")[0]
    assert 'class="health health-amber"' in card
    assert f'<a href="#checklist-{item_id}">' in card and title in card
    assert f'id="checklist-{item_id}"' in html  # the anchor exists on the page
    assert "health-green" not in html


def test_an_override_says_who_when_why_until_when_and_what_the_data_says(app, client, auth):
    with app.app_context():
        manager, engagement, item = _overdue_engagement()
        until = datetime.now(UTC) + timedelta(days=8)
        health.override_health(manager, engagement.id, "green", "Contact starts Monday", until)
        email, engagement_id, title = manager.email, engagement.id, item.title
    auth.login(email)
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    card = html.split('<section class="card" id="health">')[1].split("</section>")[0]
    override = card.split('data-testid="health-override"')[1].split("</span>")[0]
    assert "override by Dana Lee on " in override and " until " in override
    assert "Contact starts Monday" in override
    assert re.search(r"The data says Amber", card)
    assert title in card.split("health-reasons")[1]  # the data's reasons stay listed


def test_the_override_page_shows_the_reasons_it_overrides(app, client, auth):
    """Overriding health happens on its own page (ADR 0258); it names what the data says,
    each reason linking back to its item on the engagement page."""
    with app.app_context():
        manager, engagement, item = _overdue_engagement()
        email, engagement_id, item_id, title = manager.email, engagement.id, item.id, item.title
    auth.login(email)
    html = client.get(f"/engagements/{engagement_id}/health").get_data(as_text=True)
    reasons = html.split('data-testid="health-reasons"')[1].split("</ul>")[0]
    assert "The data says Amber" in html
    assert f'<a href="/engagements/{engagement_id}#checklist-{item_id}">' in reasons
    assert title in reasons
