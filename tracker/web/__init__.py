"""Server-rendered pages: each module here is one blueprint of the same name, its
templates under web/templates/<blueprint>/ (layout, macros and partials two blueprints
share under web/templates/shared/); what the pages share lives in web/support/."""

from flask import Flask


def register_web(app: Flask) -> None:
    """Register the page blueprints and the template helpers they share."""
    from tracker.extensions import csrf
    from tracker.web.admin_audit import bp as admin_audit_bp
    from tracker.web.admin_outbox import bp as admin_outbox_bp
    from tracker.web.admin_users import bp as admin_users_bp
    from tracker.web.auth import bp as auth_bp
    from tracker.web.calendar import bp as calendar_bp
    from tracker.web.change_requests import bp as change_requests_bp
    from tracker.web.digests import bp as digests_bp
    from tracker.web.digests import unsubscribe as digests_unsubscribe
    from tracker.web.engagement_parts import bp as engagement_parts_bp
    from tracker.web.engagements import bp as engagements_bp
    from tracker.web.evidence import bp as evidence_bp
    from tracker.web.exports import bp as exports_bp
    from tracker.web.handover import bp as handover_bp
    from tracker.web.healthz import bp as healthz_bp
    from tracker.web.knowledge import bp as knowledge_bp
    from tracker.web.landing import bp as landing_bp
    from tracker.web.portfolio import bp as portfolio_bp
    from tracker.web.providers import bp as providers_bp
    from tracker.web.support import (
        admin_area,
        compression,
        converters,
        filters,
        person_picker,
        security_headers,
        static_assets,
    )
    from tracker.web.tokens import bp as tokens_bp
    from tracker.web.webhooks_admin import bp as webhooks_admin_bp
    from tracker.web.workflows_admin import bp as workflows_admin_bp

    _trust_proxies(app)
    admin_area.init_app(app)  # before CSRF: nothing under /admin answers a non-admin
    converters.init_app(app)
    filters.init_app(app)
    person_picker.init_app(app)
    csrf.exempt(digests_unsubscribe)  # the signed token in the URL is the credential
    compression.init_app(app)  # first registered, last run: after the hooks below
    security_headers.init_app(app)
    static_assets.init_app(app)
    app.register_blueprint(healthz_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(landing_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(engagements_bp)
    app.register_blueprint(engagement_parts_bp)
    app.register_blueprint(evidence_bp)
    app.register_blueprint(admin_outbox_bp)
    app.register_blueprint(digests_bp)
    app.register_blueprint(knowledge_bp)
    app.register_blueprint(handover_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(webhooks_admin_bp)
    app.register_blueprint(workflows_admin_bp)
    app.register_blueprint(admin_users_bp)
    app.register_blueprint(admin_audit_bp)
    app.register_blueprint(change_requests_bp)
    app.register_blueprint(providers_bp)
    app.register_blueprint(portfolio_bp)


def _trust_proxies(app: Flask) -> None:
    """Behind N reverse proxies, take the client address (sign-in throttling counts per
    address) and scheme from their X-Forwarded-* headers; with none, trust no header."""
    hops = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
