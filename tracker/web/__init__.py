"""Server-rendered pages: one blueprint per area, templates under web/templates/."""

from flask import Flask


def register_web(app: Flask) -> None:
    """Register the page blueprints and the template helpers they share."""
    from tracker.auth.views import bp as auth_bp
    from tracker.web import filters, tokens  # noqa: F401  (tokens adds main.tokens)
    from tracker.web.admin import bp as admin_bp
    from tracker.web.calendar import bp as calendar_bp
    from tracker.web.digests import bp as digests_bp
    from tracker.web.engagements import bp as engagements_bp
    from tracker.web.exports import bp as exports_bp
    from tracker.web.health import bp as health_bp
    from tracker.web.knowledge import bp as knowledge_bp
    from tracker.web.main import bp as main_bp
    from tracker.web.webhooks import bp as webhooks_bp
    from tracker.web.work import bp as work_bp

    filters.init_app(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(engagements_bp)
    app.register_blueprint(work_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(digests_bp)
    app.register_blueprint(knowledge_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(webhooks_bp)
