"""Admin webhook pages: register (secret once), send a test event, see it in the log."""

from __future__ import annotations

import re

from tracker.core import clock
from tracker.notifications.webhook_delivery import deliver_due


def test_admin_registers_an_endpoint_and_sees_a_delivery(app, client, sign_in, post):
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True
    sign_in("admin")
    body = {"url": "http://127.0.0.1:9/hook", "events": ["adr.status_changed"]}
    page = post("/admin/webhooks", body)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'data-testid="webhook-secret">whsec_', html)
    endpoint_id = int(re.search(r"/admin/webhooks/(\d+)/test", html).group(1))
    assert post(f"/admin/webhooks/{endpoint_id}/test").status_code == 302
    with app.app_context():
        deliver_due(clock.now())  # nothing listens on port 9: a recorded failure, retried later
    log = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "webhook.test" in log
    assert (
        "connection refused" in log.lower() and "pending" in log
    )  # the reason in words (ADR 0204)
    assert "whsec_" not in log  # the secret was shown once
    listing = client.get("/admin/webhooks").get_data(as_text=True)
    assert "http://127.0.0.1:9/hook" in listing


def test_bad_url_is_a_form_error_and_others_get_404(app, client, sign_in, post):
    sign_in("admin")
    page = post("/admin/webhooks", {"url": "http://10.0.0.1/x", "events": ["adr.status_changed"]})
    assert page.status_code == 422 and b"not public" in page.data
    sign_in("manager")
    assert client.get("/admin/webhooks").status_code == 404
