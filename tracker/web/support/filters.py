"""Jinja filters and globals shared by every page and email."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_login import current_user
from markupsafe import Markup

from tracker.models import MetricKind, label
from tracker.services.knowledge import shadows
from tracker.services.milestone_status import displayed_status
from tracker.services.workflow import lifecycle
from tracker.web.support.readiness_bar import CompactBars, part_swatch, readiness_bar_svg
from tracker.web.support.timeline import legend_svg


def format_date(value: date | None, fmt: str = "%-d %b %Y") -> str:
    """3 Mar 2026; an empty string for None."""
    return value.strftime(fmt) if value else ""


def format_datetime(value: datetime | None, tz: str | None = None) -> str:
    """A UTC instant shown in the viewer's time zone, naming the zone (3 Mar 2026 14:05 CET)."""
    if value is None:
        return ""
    zone = tz or (getattr(current_user, "timezone", None) or "UTC")
    return value.astimezone(ZoneInfo(zone)).strftime("%-d %b %Y %H:%M %Z")


def format_money(value, currency: str = "EUR") -> str:
    return f"{currency} {value:,.0f}" if value is not None else ""


def init_app(app: Flask) -> None:
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_money, "money")
    app.add_template_filter(label, "label")
    app.add_template_filter(displayed_status, "displayed_status")
    app.add_template_filter(evidence_number, "evidence_number")
    app.add_template_filter(element_text, "element_text")
    app.add_template_global(nav_links, "nav_links")
    # The metric form's choices come from the one list of kinds (models/evidence.py).
    app.add_template_global(tuple(kind.value for kind in MetricKind), "metric_kinds")
    app.add_template_global(url_with, "url_with")
    app.add_template_global(legend_svg, "status_mark")
    app.add_template_global(readiness_bar_svg, "readiness_bar")
    app.add_template_global(CompactBars, "compact_readiness_bars")
    app.add_template_global(part_swatch, "part_swatch")
    app.add_template_global(lifecycle.period_progress, "period_progress")
    app.add_template_global(lifecycle.hold_text, "hold_text")
    app.add_template_global(lifecycle.state_steps, "state_steps")
    app.add_template_global(shadows.sign_off_gaps, "sign_off_gaps")
    app.add_template_filter(lifecycle.state_label, "state_label")
    app.add_template_filter(lifecycle.state_tone, "state_tone")
    app.add_template_global(lifecycle.label_of_state, "label_of_state")
    from tracker.web.support.audit_text import audit_sentence

    app.add_template_global(audit_sentence, "audit_sentence")


def element_text(value) -> Markup:
    """Text escaped for between tags: `&`, `<` and `>`, and quotes left as they are (only
    an attribute value needs them escaped). For text a list repeats on every row, such as
    the health reasons of the dashboard's fifty rows; never for an attribute."""
    if isinstance(value, Markup):
        return value
    return Markup(str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def evidence_number(value) -> str:
    """A measured or target value for people (thousands separated, trailing zeros gone)."""
    from tracker.services.evidence.judgment import number

    return number(value)


def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (None removes one)."""
    from flask import request, url_for

    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update({k: v for k, v in changes.items() if v not in (None, "")})
    return url_for(request.endpoint, **(request.view_args or {}), **args)


# (endpoint, text, roles that see it, group); links to pages not registered are left out.
EVERYONE = {"admin", "manager", "provider", "stakeholder", "auditor"}  # every role
ADMIN = "admin"  # the group of the administration pages: a row of their own (issue: the
# admin's twelve links wrapped the header at 1280 px)
NAV_LINKS = [
    ("landing.dashboard", "Dashboard", {"admin", "manager", "stakeholder", "auditor"}, None),
    ("landing.my_milestones", "My milestones", {"provider"}, None),
    ("landing.engagements", "Engagements", {"manager", "provider"}, None),
    ("portfolio.show", "Portfolio", {"admin", "manager", "stakeholder", "auditor"}, None),
    ("providers.index", "Providers", {"admin", "manager", "stakeholder", "auditor"}, None),
    ("providers.index", "Our record", {"provider"}, None),
    ("digests.subscriptions", "Digests", EVERYONE, None),
    ("calendar.index", "Calendar", EVERYONE, None),
    ("tokens.tokens", "API tokens", EVERYONE, None),
    ("admin_outbox.outbox", "Outbox", {"admin"}, ADMIN),
    ("webhooks_admin.index", "Webhooks", {"admin"}, ADMIN),
    ("admin_users.users", "Users", {"admin"}, ADMIN),
    ("admin_users.providers", "Organisations", {"admin"}, ADMIN),
    ("admin_audit.index", "Audit export", {"admin", "auditor"}, ADMIN),
    ("workflows_admin.index", "Workflows", {"admin"}, ADMIN),
]


def nav_links(group: str | None = None) -> list[tuple[str, str]]:
    """The navigation entries for the signed-in user's role in one group: the main row
    (None) or the administration row (ADMIN). A role with fewer than two administration
    pages (an auditor's audit export) has them in its main row: a row of one is no row."""
    from flask import current_app

    role = getattr(current_user, "role", None)
    allowed = [
        (endpoint, text, kind)
        for endpoint, text, roles, kind in NAV_LINKS
        if role in roles and endpoint in current_app.view_functions
    ]
    if sum(kind == ADMIN for *_, kind in allowed) < 2:
        allowed = [(endpoint, text, None) for endpoint, text, _ in allowed]
    return [(endpoint, text) for endpoint, text, kind in allowed if kind == group]
