"""Server-rendered pages: one blueprint per area, templates under web/templates/."""

from flask import Flask


def register_web(app: Flask) -> None:
    """Register the page blueprints and the template helpers they share."""
    from tracker.extensions import csrf
    from tracker.web import (  # noqa: F401
        admin_area,
        compression,
        converters,
        filters,
        security_headers,
        static_assets,
        tokens,
    )
    from tracker.web.admin import bp as admin_bp
    from tracker.web.admin_audit import bp as admin_audit_bp
    from tracker.web.admin_users import bp as admin_users_bp
    from tracker.web.calendar import bp as calendar_bp
    from tracker.web.digests import bp as digests_bp
    from tracker.web.digests import unsubscribe as digests_unsubscribe
    from tracker.web.engagement_parts import bp as work_bp
    from tracker.web.engagements import bp as engagements_bp
    from tracker.web.evidence import bp as evidence_bp
    from tracker.web.exports import bp as exports_bp
    from tracker.web.handover import bp as handover_bp
    from tracker.web.healthz import bp as health_bp
    from tracker.web.knowledge import bp as knowledge_bp
    from tracker.web.landing import bp as main_bp
    from tracker.web.login import bp as auth_bp
    from tracker.web.portfolio import bp as portfolio_bp
    from tracker.web.providers import bp as providers_bp
    from tracker.web.webhooks import bp as webhooks_bp
    from tracker.web.workflows_admin import bp as workflows_admin_bp

    _trust_proxies(app)
    admin_area.init_app(app)  # before CSRF: nothing under /admin answers a non-admin
    converters.init_app(app)
    filters.init_app(app)
    csrf.exempt(digests_unsubscribe)  # the signed token in the URL is the credential
    compression.init_app(app)  # first registered, last run: after the hooks below
    security_headers.init_app(app)
    static_assets.init_app(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(engagements_bp)
    app.register_blueprint(work_bp)
    app.register_blueprint(evidence_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(digests_bp)
    app.register_blueprint(knowledge_bp)
    app.register_blueprint(handover_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(workflows_admin_bp)
    app.register_blueprint(admin_users_bp)
    app.register_blueprint(admin_audit_bp)
    app.register_blueprint(providers_bp)
    app.register_blueprint(portfolio_bp)


def _trust_proxies(app: Flask) -> None:
    """Behind N reverse proxies, take the client address (sign-in throttling counts per
    address) and scheme from their X-Forwarded-* headers; with none, trust no header."""
    hops = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
