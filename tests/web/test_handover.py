"""Handover on the pages: drills per shadow, the access register per member, the Exit summary."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tracker.demo.seed import DEMO_PASSWORD
from tracker.extensions import db
from tracker.models import AccessEntry, Drill, Engagement, ShadowAssignment


@pytest.fixture
def demo_ids(app, load_demo) -> dict:
    load_demo()
    with app.app_context():
        handover = db.session.scalar(
            select(Engagement).where(Engagement.title == "Churn model handover")
        )
        closed = db.session.scalar(
            select(Engagement).where(Engagement.title == "Recommendations pilot")
        )
        shadow = db.session.scalars(
            select(ShadowAssignment)
            .where(ShadowAssignment.engagement_id == handover.id)
            .order_by(ShadowAssignment.id)
        ).first()
        open_entry = db.session.scalar(
            select(AccessEntry)
            .where(AccessEntry.engagement_id == handover.id, AccessEntry.revoked_at.is_(None))
            .order_by(AccessEntry.id)
        )
        return {
            "handover": handover.id,
            "closed": closed.id,
            "shadow": shadow.id,
            "open_entry": open_entry.id,
        }


def test_the_exit_summary_lists_what_is_open_with_its_owner(client, auth, demo_ids):
    auth.login("manager@example.com", DEMO_PASSWORD)
    html = client.get(f"/engagements/{demo_ids['handover']}").get_data(as_text=True)
    exit_html = html.split('data-testid="exit-section"')[1].split("</section>")[0]
    codes = re.findall(r'data-code="(\w+)"', exit_html)
    assert codes.count("area_without_passed_drill") == 1  # the training pipeline failed
    assert "access_not_revoked" in codes and "access_not_verified" in codes
    assert "data_disposition_unconfirmed" in codes and "ip_assignment_unconfirmed" not in codes
    assert "owner: Ivan Petrov" in exit_html and "owner: Dana Lee" in exit_html
    assert 'data-testid="access-section"' in html


def test_the_closed_engagement_shows_its_register_verified_and_no_exit_form(client, auth, demo_ids):
    auth.login("manager@example.com", DEMO_PASSWORD)
    html = client.get(f"/engagements/{demo_ids['closed']}").get_data(as_text=True)
    assert 'data-testid="exit-section"' not in html  # not in the wind-down any more
    states = re.findall(r'data-testid="access-entry" data-state="(\w+)"', html)
    assert states and set(states) == {"verified"}
    assert "Mark revoked" not in html


def test_revoke_then_verify_in_place_by_two_people(client, auth, post, app, demo_ids):
    entry = demo_ids["open_entry"]
    auth.login("manager@example.com", DEMO_PASSWORD)
    page = client.get(f"/engagements/{demo_ids['handover']}").get_data(as_text=True)
    assert f'data-testid="revoke-{entry}"' in page
    done = post(f"/access/{entry}/revoke", {"note": "removed from the org"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"#access-{entry}")
    page = client.get(f"/engagements/{demo_ids['handover']}").get_data(as_text=True)
    assert f'data-testid="verify-by-someone-else-{entry}"' in page
    refused = post(f"/access/{entry}/verify", {"how": "looked"})
    assert refused.status_code == 403
    assert 'data-field="verified_by"' in refused.get_data(as_text=True)
    auth.logout()
    auth.login("manager2@example.com", DEMO_PASSWORD)
    verified = post(f"/access/{entry}/verify", {"how": "checked the org members list"})
    assert verified.status_code == 303
    with app.app_context():
        row = db.session.get(AccessEntry, entry)
        assert row.verified_by.email == "manager2@example.com"
        assert row.revoked_by.email == "manager@example.com"


def test_a_provider_sees_the_register_without_the_buttons(client, auth, demo_ids):
    auth.login("leo@quanta.example", DEMO_PASSWORD)
    html = client.get(f"/engagements/{demo_ids['handover']}").get_data(as_text=True)
    assert 'data-testid="access-entry"' in html
    assert "Mark revoked" not in html and "List access for" not in html
    assert post_forbidden(client, auth, f"/access/{demo_ids['open_entry']}/revoke")


def post_forbidden(client, auth, url: str) -> bool:
    response = client.post(url, data={"csrf_token": auth.csrf(), "note": "x"})
    return response.status_code == 403


def test_recording_a_drill_on_the_knowledge_page(client, auth, post, app, demo_ids):
    auth.login("manager@example.com", DEMO_PASSWORD)
    page = client.get(f"/engagements/{demo_ids['handover']}/knowledge").get_data(as_text=True)
    shadow_html = page.split(f'data-testid="drills-{demo_ids["shadow"]}"')[1].split("</div>")[0]
    assert 'data-outcome="failed"' in shadow_html and 'data-testid="follow-up"' in shadow_html
    future = (date.today() + timedelta(days=5)).isoformat()
    with app.app_context():
        before = db.session.scalar(select(db.func.count(Drill.id)))
    refused = post(
        f"/shadows/{demo_ids['shadow']}/drills",
        {
            "area": "training pipeline",
            "task": "Retrain",
            "performed_on": future,
            "outcome": "passed",
        },
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'data-field="performed_on"' in body and 'data-field="performed_by_id"' in body
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Drill.id))) == before
        engineer = db.session.scalar(
            select(ShadowAssignment).where(ShadowAssignment.id == demo_ids["shadow"])
        ).shadow_id
    done = post(
        f"/shadows/{demo_ids['shadow']}/drills",
        {
            "area": "training pipeline",
            "task": "Retrain the churn model alone",
            "performed_by_id": str(engineer),
            "performed_on": date.today().isoformat(),
            "outcome": "passed",
            "minutes": "50",
        },
    )
    assert done.status_code == 303
    page = client.get(f"/engagements/{demo_ids['handover']}").get_data(as_text=True)
    exit_html = page.split('data-testid="exit-section"')[1].split("</section>")[0]
    assert "area_without_passed_drill" not in exit_html


def test_the_access_register_downloads_as_csv_from_the_page(client, auth, demo_ids):
    import csv
    import io

    auth.login("manager@example.com", DEMO_PASSWORD)
    page = client.get(f"/engagements/{demo_ids['closed']}").get_data(as_text=True)
    link = f"/engagements/{demo_ids['closed']}/access.csv"
    assert f'href="{link}"' in page
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    # the one download answer every export gives (core/downloads.csv_response)
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="engagement-{demo_ids["closed"]}-access.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows and all(r["verified_by"] and r["verified_by"] != r["revoked_by"] for r in rows)
