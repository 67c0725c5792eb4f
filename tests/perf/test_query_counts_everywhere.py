"""Every GET route that lists or shows something costs the same SQL whatever the data holds.

ROUTES names, per endpoint, who asks and which URLs; SKIPPED names the GET
endpoints left out and why. A GET endpoint in neither fails
`test_every_get_route_is_covered_or_skipped_with_a_reason`, so a new page or
resource cannot arrive without a query-count assertion.

The data is built once for the module: the scale generator (5, then 25
engagements of one seed) plus, through the services, artifacts, ADR edits,
subscriptions, tokens and outbox emails (scale_extras), grown between the two
measurements. Each URL must cost the same number of statements at both sizes,
and a URL naming one item (an engagement, an ADR, a shadow …) the same for
items with different numbers of rows under them (picked by items.py).
Pages are read by a signed-in manager, provider or admin; the API with Bearer
tokens of the manager and the provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import pytest

from tests.conftest import (
    TEST_DB,
    AuthActions,
    _create_schema,
    _truncate_all,
    build_app,
    count_queries,
)
from tests.factories import PASSWORD, make_user
from tests.perf.helpers import count_get, first_ids, grow_to, scale_user_email, token_for
from tests.perf.items import item_ids, provider_email, rich_engagements_by_state, sizes
from tests.perf.scale_extras import Extras, add_rows
from tracker.demo import scale_data
from tracker.extensions import db
from tracker.services.administration import users

# On PostgreSQL too (ADR 0216): statement counts depend on the dialect (RETURNING, batching).
pytestmark = pytest.mark.postgres

SEED = 17
FEW, MANY = 5, 25
ADMIN_EMAIL = "admin@perf.example"
API = "/api/v1"

# endpoint -> [(who, URL)]; {kind} in a URL is filled with each id of that kind.
ROUTES: dict[str, list[tuple[str, str]]] = {
    "landing.home": [("manager", "/home")],
    "landing.dashboard": [
        ("manager", "/dashboard"),
        ("manager", "/dashboard?sort=owner&per_page=10"),
        ("manager", "/dashboard?health=red"),
        ("manager", "/dashboard?owner=a&provider=a"),
    ],
    "landing.picker_choices": [
        ("manager", "/pickers/owner?q=a"),
        ("manager", "/pickers/provider"),
        ("provider", "/pickers/owner"),
        ("manager", "/pickers/person?q=a"),
    ],
    "landing.engagements": [("manager", "/engagements"), ("provider", "/engagements")],
    "landing.my_milestones": [("provider", "/my-milestones")],
    "tokens.tokens": [("manager", "/tokens")],
    "auth.change_password": [("manager", "/account/password")],
    "engagements.show": [("manager", "/engagements/{engagement}")],
    "engagements.new": [("manager", "/engagements/new")],
    "engagements.edit": [("manager", "/engagements/{engagement}/edit")],
    "engagements.override_health": [("manager", "/engagements/{engagement}/health")],
    "engagements.person_suggestions": [
        ("manager", "/engagements/people/owner?q=a"),
        ("manager", "/engagements/people/contact"),
    ],
    "engagement_parts.edit_member": [("manager", "/members/{member}/edit")],
    "engagement_parts.new_member": [("manager", "/engagements/{engagement}/members/new")],
    "engagement_parts.new_milestone": [("manager", "/engagements/{engagement}/milestones/new")],
    "engagement_parts.edit_item": [("manager", "/checklist/{checklist_item}/edit")],
    "engagement_parts.new_item": [("manager", "/engagements/{engagement}/checklist/new")],
    "engagement_parts.owner_suggestions": [
        ("manager", "/engagements/{engagement}/checklist/owners?q=a")
    ],
    "engagement_parts.edit_milestone": [("manager", "/milestones/{milestone}/edit")],
    "engagement_parts.update_milestone": [("manager", "/milestones/{milestone}/update")],
    "knowledge.index": [("manager", "/engagements/{engagement}/knowledge")],
    "knowledge.export": [("manager", "/engagements/{engagement}/knowledge/export")],
    "knowledge.show_adr": [("manager", "/adrs/{adr}")],
    "digests.subscriptions": [("manager", "/digests/")],
    "digests.subscriber_suggestions": [("manager", "/digests/subscribers?q=a")],
    "digests.preview": [("manager", "/digests/preview")],
    "digests.preview_html": [("manager", "/digests/preview/html")],
    "digests.unsubscribe_confirm": [("anonymous", "/digests/unsubscribe/{unsubscribe}")],
    "admin_outbox.outbox": [("admin", "/admin/outbox"), ("admin", "/admin/outbox?status=pending")],
    "admin_outbox.outbox_email": [("admin", "/admin/outbox/{email}")],
    "admin_outbox.outbox_email_html": [("admin", "/admin/outbox/{email}/html")],
    "me.Me": [("manager_api", f"{API}/me"), ("provider_api", f"{API}/me")],
    "Engagements.Engagements": [
        ("manager_api", f"{API}/engagements?per_page=50"),
        ("manager_api", f"{API}/engagements?per_page=50&health=red"),
        ("provider_api", f"{API}/engagements?per_page=50"),
    ],
    "Engagements.EngagementItem": [("manager_api", f"{API}/engagements/{{engagement}}")],
    "Transitions.Transitions": [("manager_api", f"{API}/engagements/{{engagement}}/transitions")],
    "Checklists.Checklist": [("manager_api", f"{API}/engagements/{{engagement}}/checklist")],
    "Team.Team": [("manager_api", f"{API}/engagements/{{engagement}}/team")],
    "Audit.Timeline": [("manager_api", f"{API}/engagements/{{engagement}}/audit?per_page=50")],
    "Milestones.Milestones": [("manager_api", f"{API}/engagements/{{engagement}}/milestones")],
    "Milestones.MilestoneItem": [("manager_api", f"{API}/milestones/{{milestone}}")],
    "Milestones.StatusUpdates": [("manager_api", f"{API}/milestones/{{milestone}}/updates")],
    "Milestones.MyMilestones": [
        ("manager_api", f"{API}/milestones/mine"),
        ("provider_api", f"{API}/milestones/mine"),
    ],
    "ADRs.Adrs": [("manager_api", f"{API}/engagements/{{engagement}}/adrs")],
    "ADRs.AdrExport": [("manager_api", f"{API}/engagements/{{engagement}}/adrs/export")],
    "ADRs.AdrItem": [("manager_api", f"{API}/adrs/{{adr}}")],
    "ADRs.AdrRevisions": [("manager_api", f"{API}/adrs/{{adr}}/revisions")],
    "Shadows.Shadows": [("manager_api", f"{API}/engagements/{{engagement}}/shadows")],
    "Shadows.ShadowItem": [("manager_api", f"{API}/shadows/{{shadow}}")],
    "Handover.ShadowDrills": [("manager_api", f"{API}/shadows/{{shadow}}/drills")],
    "Handover.EngagementDrills": [("manager_api", f"{API}/engagements/{{engagement}}/drills")],
    "Handover.MemberAccess": [("manager_api", f"{API}/team-members/{{member}}/access")],
    "Handover.EngagementAccess": [("manager_api", f"{API}/engagements/{{engagement}}/access")],
    "Handover.EngagementExit": [("manager_api", f"{API}/engagements/{{engagement}}/exit")],
    "Knowledge.Artifacts": [("manager_api", f"{API}/engagements/{{engagement}}/artifacts")],
    "Knowledge.ArtifactItem": [("manager_api", f"{API}/artifacts/{{artifact}}")],
    "Knowledge.Readiness": [("manager_api", f"{API}/engagements/{{engagement}}/readiness")],
    "Subscriptions.Subscriptions": [("manager_api", f"{API}/subscriptions")],
    "Subscriptions.SubscriptionItem": [("manager_api", f"{API}/subscriptions/{{subscription}}")],
    "Tokens.Tokens": [("manager_api", f"{API}/tokens")],
    "calendar.index": [("manager", "/calendar"), ("provider", "/calendar")],
    "Calendar.CalendarFeedItem": [("manager_api", f"{API}/me/calendar")],
    "webhooks_admin.index": [("admin", "/admin/webhooks")],
    "workflows_admin.index": [("admin", "/admin/workflows")],
    "admin_users.users": [("admin", "/admin/users")],
    "admin_users.providers": [("admin", "/admin/providers")],
    "admin_audit.index": [("admin", "/admin/audit")],
    "admin_audit.actor_suggestions": [("admin", "/admin/audit/actors?q=a")],
    # Here every engagement is on the newest version, so this measures the page and the
    # version listing; each engagement on another version costs its own dry run by design
    # (the same per-engagement path as the real migration, rolled back).
    "workflows_admin.migrate_preview": [("admin", "/admin/workflows/staff_augmentation/migrate")],
    "evidence.show_scorecard": [("manager", "/engagements/{engagement}/scorecard")],
    "Evidence.Metrics": [("manager_api", f"{API}/engagements/{{engagement}}/metrics")],
    "Evidence.IngestTokens": [("manager_api", f"{API}/engagements/{{engagement}}/ingest-tokens")],
    "change_requests.index": [("manager", "/engagements/{engagement}/change-requests")],
    "change_requests.new": [("manager", "/engagements/{engagement}/change-requests/new")],
    "Change requests.EngagementChangeRequests": [
        ("manager_api", f"{API}/engagements/{{engagement}}/change-requests"),
    ],
    "Change requests.EngagementDrift": [
        ("manager_api", f"{API}/engagements/{{engagement}}/drift"),
    ],
    "Workflows.Workflows": [
        ("manager_api", f"{API}/workflows"),
        ("provider_api", f"{API}/workflows"),
    ],
    "providers.index": [("manager", "/providers")],
    "providers.show": [("manager", "/providers/{provider}")],
    "providers.behind": [("manager", "/providers/{provider}/engagements?figure=all")],
    "portfolio.show": [("manager", "/portfolio"), ("manager", "/portfolio?state=trial")],
    "portfolio.hiring_evaluation": [("manager", "/engagements/{engagement}/hiring-evaluation")],
    "ProviderRecords.ProviderRecord": [("manager_api", f"{API}/providers/{{provider}}/record")],
}

SKIPPED: dict[str, str] = {
    "static": "files from disk; no database",
    "api-docs.openapi_json": "the generated OpenAPI document; no database",
    "api-docs.openapi_swagger_ui": "the Swagger UI shell; no database",
    "healthz.healthz": "liveness probe: one fixed check, lists nothing",
    "auth.login": "the sign-in form; shows nothing from the database",
    "auth.oidc_callback": "one SSO sign-in; same count at two sizes in tests/auth/test_oidc.py",
    "landing.index": "only redirects (302) to /dashboard or /my-milestones, both covered",
    "calendar.feed": "secret URL; constant queries asserted in tests/web/test_calendar.py",
    "calendar.engagement_feed": "secret URL; as calendar.feed (tests/web/test_calendar.py)",
    "exports.engagements_csv": "streamed CSV: queries per batch asserted in test_csv_export.py",
    "exports.milestones_csv": "streamed CSV of one engagement; a fixed three queries",
    "exports.checklist_csv": "streamed CSV of one engagement; a fixed three queries",
    "exports.audit_csv": "streamed CSV of one engagement; one query read with yield_per",
    "Exports.EngagementExport": "streamed CSV: as exports.engagements_csv",
    "Exports.MilestonesExport": "streamed CSV: as exports.milestones_csv",
    "Exports.ChecklistExport": "streamed CSV: as exports.checklist_csv",
    "Exports.AuditExport": "streamed CSV: as exports.audit_csv",
    "Evidence.MeasurementsExport": "CSV of one engagement's measurements: one joined query",
    "Evidence.MetricItem": "one metric by primary key and its engagement (no rows under it)",
    "Evidence.Measurements": (
        "one metric's measurements: a LIMIT-1000 query with joined recorders; constant in "
        "measurements asserted in tests/api/test_evidence_queries.py"
    ),
    "handover.access_csv": "streamed CSV of one register: as Handover.EngagementAccessExport",
    "Handover.EngagementAccessExport": "streamed CSV of one register: the visibility check "
    "and one joined query (tests/services/handover/test_access.py reads it back)",
    "webhooks_admin.show": "admin page of one endpoint: one endpoint and a LIMIT-100 log join",
    "Webhooks.Webhooks": "admin-only API (no admin token here); one query over endpoints",
    "Webhooks.WebhookItem": "admin-only API: one primary-key read",
    "Webhooks.WebhookDeliveries": "admin-only API: one LIMIT-100 joined query",
    "admin_users.user": "admin page of one user: a primary-key read, the organisation list "
    "and a LIMIT-50 trail (no rows under a user grow it)",
    "admin_users.provider": "admin page of one organisation: a primary-key read, its people "
    "and a LIMIT-50 trail",
    "auth.set_password": "secret emailed link: one look-up by token hash (tests/web)",
    "Users.Users": "admin-only API (no admin token here); one joined query over users",
    "Users.UserItem": "admin-only API: one primary-key read with its organisation",
    "Providers.Providers": "admin-only API (no admin token here); one query over organisations",
    "Providers.ProviderItem": "admin-only API: one primary-key read",
    "admin_audit.download": "streamed export: one query read with yield_per, statement count "
    "and memory asserted in tests/services/audit_export/test_export.py",
    "AuditExport.AuditCsv": "admin-only streamed export: as admin_audit.download",
    "AuditExport.AuditJsonLines": "admin-only streamed export: as admin_audit.download",
    "change_requests.show": "one change request by primary key, its engagement and two users "
    "(its changes are a JSON column: no rows under it)",
    "Change requests.ChangeRequestItem": "as change_requests.show",
}

# endpoint -> reason, for an N+1 that lives in a file this change may not touch.
XFAIL_GROWTH: dict[str, str] = {}
XFAIL_ITEM_ROWS: dict[str, str] = {}

PLACEHOLDER = re.compile(r"\{(\w+)\}")
ITEM_ENDPOINTS = [e for e, urls in ROUTES.items() if any(PLACEHOLDER.search(u) for _, u in urls)]


@dataclass
class Measured:
    """(status, statements) per probe: at both sizes, and per item group at the larger size."""

    few: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    many: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    items: dict[str, list[dict[str, tuple[int, int]]]] = field(default_factory=dict)
    sizes: list[dict[str, int]] = field(default_factory=list)


@pytest.fixture(scope="module")
def scale_app(request, tmp_path_factory):
    """One app and database for the whole module (the data is built once)."""
    tmp = tmp_path_factory.mktemp("query-counts")
    if TEST_DB == "postgres":
        url = request.getfixturevalue("pg_database")
    else:
        url = f"sqlite:///{tmp / 'tracker.db'}"
        _create_schema(url)
    app = build_app(url, tmp)
    yield app
    if TEST_DB == "postgres":
        _truncate_all(app)
    else:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _signed_in(app, email: str, password: str):
    client = app.test_client()
    assert AuthActions(client).login(email, password=password).status_code == 302
    return client


def _senders(app, manager_email: str, provider_email: str) -> dict[str, tuple]:
    """who -> (test client, headers): sessions for pages, Bearer tokens for the API."""
    bearer = lambda email: {"Authorization": f"Bearer {token_for(app, email)}"}  # noqa: E731
    return {
        "manager": (_signed_in(app, manager_email, scale_data.PASSWORD), {}),
        "provider": (_signed_in(app, provider_email, scale_data.PASSWORD), {}),
        "admin": (_signed_in(app, ADMIN_EMAIL, PASSWORD), {}),
        "anonymous": (app.test_client(), {}),
        "manager_api": (app.test_client(), bearer(manager_email)),
        "provider_api": (app.test_client(), bearer(provider_email)),
    }


def _probes(endpoint: str, ids: dict[str, list[list]]) -> list[list[tuple[str, str]]]:
    """Groups of (who, url) for one endpoint; a group's URLs differ only in the item."""
    groups = []
    for who, template in ROUTES[endpoint]:
        kinds = PLACEHOLDER.findall(template)
        if not kinds:
            groups.append([(who, template)])
            continue
        for group in ids[kinds[0]]:
            groups.append([(who, template.format(**{kinds[0]: i})) for i in group])
    return groups


def _measure(senders, groups) -> list[dict[str, tuple[int, int]]]:
    measured = []
    for group in groups:
        found = {}
        for who, url in group:
            client, headers = senders[who]
            counter = partial(count_queries, client.application)
            found[f"{who} {url}"] = count_get(client, counter, url, headers)
        measured.append(found)
    return measured


def _merged(groups: list[dict]) -> dict:
    return {name: value for group in groups for name, value in group.items()}


@pytest.fixture(scope="module")
def measured(scale_app) -> Measured:
    """Measure every probe at 5 engagements, grow everything, measure again and per item."""
    # A token records its use at most once a minute; on a slow machine the measuring
    # outlasts a minute, and that one UPDATE must not read as a probe growing.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "LAST_USED_RESOLUTION", timedelta(days=365))
        return _measured(scale_app)


def _measured(scale_app) -> Measured:
    app, result = scale_app, Measured()
    grow_to(app, FEW, SEED)
    manager, provider = scale_user_email(app, "manager", SEED), provider_email(app)
    with app.app_context():
        make_user("admin", email=ADMIN_EMAIL)
        db.session.remove()
    few_ids = first_ids(app, FEW)
    add_rows(app, Extras(manager, ADMIN_EMAIL, few_ids), rounds=1)
    senders = _senders(app, manager, provider)
    ids = item_ids(app, [few_ids])
    result.sizes.append(sizes(app, provider))
    for endpoint in ROUTES:
        result.few[endpoint] = _merged(_measure(senders, _probes(endpoint, ids)))
    grow_to(app, MANY, SEED)
    by_state = rich_engagements_by_state(app)
    grown = sorted({*few_ids, *(e for group in by_state for e in group)})
    add_rows(app, Extras(manager, ADMIN_EMAIL, grown), rounds=2)
    result.sizes.append(sizes(app, provider))
    for endpoint in ROUTES:
        result.many[endpoint] = _merged(_measure(senders, _probes(endpoint, ids)))
    by_size = item_ids(app, by_state)
    for endpoint in ITEM_ENDPOINTS:
        result.items[endpoint] = _measure(senders, _probes(endpoint, by_size))
    return result


def _params(endpoints, xfails: dict[str, str]):
    return [
        pytest.param(
            e, marks=pytest.mark.xfail(strict=True, reason=xfails[e]) if e in xfails else ()
        )
        for e in endpoints
    ]


def _assert_answered(found: dict[str, tuple[int, int]]) -> None:
    assert found, "no URL was probed"
    assert {n: s for n, (s, _) in found.items() if s != 200} == {}
    assert all(count > 0 for _, count in found.values()), found


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", _params(ROUTES, XFAIL_GROWTH))
def test_statements_stay_the_same_from_5_to_25_engagements(endpoint, measured):
    few, many = measured.few[endpoint], measured.many[endpoint]
    _assert_answered(few)
    _assert_answered(many)
    assert {n: c for n, (_, c) in many.items()} == {n: c for n, (_, c) in few.items()}


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", _params(ITEM_ENDPOINTS, XFAIL_ITEM_ROWS))
def test_statements_stay_the_same_for_items_with_more_rows(endpoint, measured):
    for group in measured.items[endpoint]:
        _assert_answered(group)
        assert len(group) >= 2, f"one item only, nothing compared: {group}"
        assert len({count for _, count in group.values()}) == 1, group


@pytest.mark.slow
def test_the_data_grows_between_the_two_measurements(measured):
    """Otherwise equal counts prove nothing (another SEED might leave some list as it was)."""
    few, many = measured.sizes
    assert {k: (few[k], many[k]) for k in few if many[k] <= few[k]} == {}


def test_every_get_route_is_covered_or_skipped_with_a_reason(scale_app):
    rules = scale_app.url_map.iter_rules()
    get_endpoints = {r.endpoint for r in rules if "GET" in r.methods}
    assert not set(ROUTES) & set(SKIPPED), "covered and skipped at once"
    assert get_endpoints - set(ROUTES) - set(SKIPPED) == set(), "add to ROUTES (or SKIPPED)"
    assert set(ROUTES) | set(SKIPPED) <= get_endpoints, "stale entries"
    assert all(reason.strip() for reason in SKIPPED.values())


def test_every_probed_url_reaches_the_endpoint_it_is_listed_under(scale_app):
    adapter = scale_app.url_map.bind("localhost")
    reached = {
        (endpoint, url): adapter.match(PLACEHOLDER.sub("1", url).split("?")[0], method="GET")[0]
        for endpoint, urls in ROUTES.items()
        for _, url in urls
    }
    assert {key: found for key, found in reached.items() if found != key[0]} == {}
