"""Every page, as each demo role, in Chromium with the CSP in force: zero violations.

The crawl starts at the landing page and follows every same-site link (one URL
per route and argument shape), so a page nobody links to is missed: the test
then compares the routes it reached with every GET page route in the app and
fails on any that is neither reached nor listed in UNREACHED with a reason.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import login
from tests.support.browser import serving
from tracker.extensions import db

ROLES = {
    "admin": "admin@example.com",
    "manager": "manager@example.com",
    "stakeholder": "stakeholder@example.com",
    "provider": "priya@northwind.example",
}
UNREACHED = {
    "static": "files, not pages",
    "healthz.healthz": "JSON for load balancers",
    "landing.picker_choices": "JSON suggestions as a name is typed: test_pickers_in_the_browser.py",
    "engagement_parts.owner_suggestions": "JSON suggestions for the item owner picker "
    "(tests/web/test_engagement_parts_editing.py)",
    "digests.subscriber_suggestions": "JSON suggestions for the subscriber picker "
    "(tests/web/test_digests.py)",
    "engagements.person_suggestions": "JSON suggestions for the engagement form's owner and "
    "contact pickers (tests/web/test_engagement_form_people.py)",
    "admin_audit.actor_suggestions": "JSON suggestions for the actor picker "
    "(tests/services/audit_export/test_export.py)",
    "api-docs.openapi_json": "JSON document (the docs page loading it is crawled)",
    "knowledge.export": "a zip download, not a page",
    "exports.engagements_csv": "a CSV download, not a page",
    "exports.milestones_csv": "a CSV download, not a page",
    "exports.checklist_csv": "a CSV download, not a page",
    "exports.audit_csv": "a CSV download, not a page",
    "admin_audit.download": "a CSV or JSON Lines download from the form's buttons, not a link",
    "handover.access_csv": "a CSV download, not a page",
    "Evidence.MeasurementsExport": "the API's CSV of measurements, linked from the Evidence card",
    "calendar.feed": "an iCalendar feed for calendar apps, not a page",
    "calendar.engagement_feed": "an iCalendar feed for calendar apps, not a page",
    "webhooks_admin.show": "the demo registers no webhook endpoint to link to",
    "digests.unsubscribe_confirm": "reached from an email link; loaded explicitly below",
    "auth.login": "loaded before signing in, below",
    "auth.oidc_callback": "the identity provider's answer: tests/browser/test_sso.py checks it",
    "auth.set_password": "only reached from an emailed secret link (test_user_admin.py)",
}
# getAttribute, not .href: links inside the SVG diagram have an SVGAnimatedString there.
_HREFS = "els => els.map(e => new URL(e.getAttribute('href'), document.baseURI).href)"
AXE = Axe()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PER_ROUTE = 2  # URLs visited per route and role (e.g. two engagements)


@pytest.fixture
def csp_server(tmp_path, ticked_demo, live_apps):
    """The demo after one scheduler tick (so the outbox holds real emails), served live
    from this test's own copy of the database."""
    with serving(live_apps(), tmp_path, ticked_demo) as live:
        with live.app.app_context():
            token = _an_unsubscribe_token()
            db.session.remove()
        yield live.app, live.url, token


def _an_unsubscribe_token() -> str:
    from sqlalchemy import select

    from tracker.models import Subscription
    from tracker.notifications.digests import unsubscribe_token

    return unsubscribe_token(db.session.scalars(select(Subscription.id)).first())


class Watcher:
    """Collects CSP violations (console and the DOM event) and script errors of one page."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.documents: list[str] = []  # paths of every document loaded, frames included
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error("
            "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
        )

    def _response(self, response):
        if response.request.resource_type == "document":
            self.documents.append(urlsplit(response.url).path)

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "CSP violation" in text:
            self.problems.append(f"{message.location.get('url')}: {text}")


def _shape(path: str) -> str:
    return re.sub(r"/\d+", "/<id>", path)


def _crawl(page, base: str, adapter, watcher: Watcher) -> set[str]:
    """Breadth-first over same-site links; returns the endpoints reached."""
    queue, seen_urls, per_shape, audited = ["/", "/home"], set(), {}, set()
    while queue:
        path = queue.pop(0)
        if path in seen_urls:
            continue
        seen_urls.add(path)
        response = page.goto(base + path)
        assert response is not None and response.status < 500, path
        assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", ""), path
        page.wait_for_load_state("load")
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            watcher.problems.append(f"{path}: scrolls sideways by {overflow} px")
        endpoint = adapter.match(urlsplit(path).path, method="GET")[0]
        if endpoint not in audited:  # axe once per page kind and role: it costs ~0.3 s
            audited.add(endpoint)
            watcher.problems += [f"{path}: {v}" for v in _serious_axe_violations(page)]
        for href in page.eval_on_selector_all("a[href]", _HREFS):
            _enqueue(href, base, adapter, queue, seen_urls, per_shape)
    return {adapter.match(path, method="GET")[0] for path in watcher.documents}


def _serious_axe_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG findings on the page as loaded.

    Only violations are reported node by node (`resultTypes`): axe still runs every rule,
    but no longer builds a selector for each of the hundreds of passing nodes and sends
    them back, which was ~30 % of the browser's CPU per run and most of ours.
    """
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = AXE.run(page, options=options)
    return [
        f"axe {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}: {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_reports_every_node_of_a_serious_violation(page):
    """The check above still sees a violation, on every node: two images without text."""
    image = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
    page.set_content(
        f'<!doctype html><html lang="en"><title>t</title><main>{image}{image}</main></html>'
    )
    found = _serious_axe_violations(page)
    assert len(found) == 1 and found[0].startswith("axe image-alt (critical)"), found
    results = AXE.run(page, options={"resultTypes": ["violations"], "runOnly": ["image-alt"]})
    assert len(results.response["violations"][0]["nodes"]) == 2


def _enqueue(href, base, adapter, queue, seen, per_shape) -> None:
    parts = urlsplit(href)
    if not href.startswith(base) or parts.path.startswith(("/static/", "/api/v1/openapi")):
        return
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        endpoint = adapter.match(parts.path, method="GET")[0]
    except Exception:  # a link to a page that is not a GET route: not ours to load
        return
    if endpoint in UNREACHED or path in seen:
        return
    shape = (endpoint, _shape(parts.path), bool(parts.query))
    if per_shape.get(shape, 0) >= PER_ROUTE:
        return
    per_shape[shape] = per_shape.get(shape, 0) + 1
    queue.append(path)


def _page_endpoints(app) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.rule.startswith("/api/v1/")
    } | {"api-docs.openapi_swagger_ui"}


@pytest.mark.timeout(900)  # every page as every role: over 300 s on a loaded CI machine
# ...so the browser processes' module queue hands this module out first (ADR 0229, 0236);
# handed out last, it would run alone on one core at the end of `make test`.
@pytest.mark.slow
@pytest.mark.parametrize(
    "width,height,scheme", [(1280, 900, "light"), (390, 844, "dark")], ids=["laptop", "phone-dark"]
)
def test_every_page_as_every_role_meets_the_csp_fits_and_passes_axe(
    csp_server, browser, width, height, scheme
):
    """Every page as every role, on a laptop in light mode and a phone in dark mode: no CSP
    violation, no script error, no sideways scroll, no serious or critical axe-core finding
    (WCAG 2.2 A and AA, contrast included)."""
    app, base, token = csp_server
    adapter = app.url_map.bind("127.0.0.1")
    reached: set[str] = set()
    problems: list[str] = []
    for role, email in ROLES.items():
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme
        )
        page = context.new_page()
        watcher = Watcher(page)
        page.goto(f"{base}/digests/unsubscribe/{token}")
        reached.add("digests.unsubscribe_confirm")
        login(page, base, email)
        reached.add("auth.login")
        reached |= _crawl(page, base, adapter, watcher)
        page.goto(f"{base}/api/v1/docs")
        page.wait_for_selector(".swagger-ui .info")  # the init script really ran
        watcher.problems += [f"/api/v1/docs: {v}" for v in _serious_axe_violations(page)]
        reached.add("api-docs.openapi_swagger_ui")
        problems += [f"[{role}] {p}" for p in watcher.problems]
        context.close()
    assert problems == [], "\n".join(problems)
    assert _page_endpoints(app) - reached - set(UNREACHED) == set()
