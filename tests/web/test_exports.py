"""The pages' CSV downloads (web/exports.py): streamed attachments the browser never caches,
read back with the csv module; the API's export is the same response (core/downloads.py)."""

from __future__ import annotations

import csv
import io

from tests.factories import make_engagement, make_user
from tracker.services.administration import users as user_service


def test_the_engagement_list_downloads_as_an_uncached_csv_attachment(app, client, auth):
    with app.app_context():
        manager = make_user("manager")
        engagement = make_engagement(manager, title="Fraud model")
        email, engagement_id = manager.email, engagement.id
        token = user_service.create_token(manager, "csv")[1]
    auth.login(email)
    page = client.get("/engagements.csv")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert page.headers["Content-Disposition"].startswith('attachment; filename="engagements-')
    assert page.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(page.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["id", "title"] and [str(engagement_id), "Fraud model"] == rows[1][:2]

    milestones = client.get(f"/engagements/{engagement_id}/milestones.csv")
    assert milestones.headers["Cache-Control"] == "no-store"
    assert milestones.headers["Content-Disposition"] == (
        f'attachment; filename="engagement-{engagement_id}-milestones.csv"'
    )

    api = client.get("/api/v1/engagements/export.csv", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert api.headers["Cache-Control"] == "no-store"
    assert api.headers["Content-Disposition"].startswith('attachment; filename="engagements-')
    assert list(csv.reader(io.StringIO(api.get_data(as_text=True).lstrip("\ufeff"))))[1][:2] == [
        str(engagement_id),
        "Fraud model",
    ]
