"""WSGI entry point: `flask run`, gunicorn `wsgi:app`."""

import gc

from tracker.core.deferred_imports import deferring, without_greenlet

# Modules that libraries import at their own import but a worker uses rarely or never; each
# would stay resident (issue 29, ADR 0256), so they run at their first use instead.
DEFERRED_MODULES = (
    "yaml",  # flask-smorest: `flask openapi --format yaml`; the ADR exchange formats
    "pdb",  # click's test runner, imported by Flask-Login's test client
    "urllib.request",  # Flask-WTF's reCAPTCHA check (no form here uses it)
    "tomllib",  # the workflow catalogue, read when a page first needs a definition
    # SQLAlchemy's drivers for the async and other DB-API libraries, never configured here
    "sqlalchemy.dialects.postgresql.asyncpg",
    "sqlalchemy.dialects.postgresql.pg8000",
    "sqlalchemy.dialects.postgresql.psycopg2cffi",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.dialects.sqlite.pysqlcipher",
    # asyncio's TLS, happy-eyeballs and debug-format helpers (psycopg imports asyncio)
    "asyncio.sslproto",
    "asyncio.staggered",
    "asyncio.trsock",
    "asyncio.format_helpers",
)

# The app's own services that only rare pages and API resources call (audit export, ADR
# import, evidence export and scorecard, handover drills, digest subscriptions, SSO links,
# team edits, workflow migration). Their blueprints import them as modules, so they run at
# the first call; neither the sign-in nor the dashboard, engagement page, API list and
# detail or portfolio runs them. (Services of frequent writes stay imported at start.)
RARE_SERVICE_MODULES = (
    "tracker.services.audit_export.export",
    "tracker.services.evidence.exports",
    "tracker.services.evidence.scorecard",
    "tracker.services.exchange.adr_exchange",
    "tracker.services.handover.drills",
    "tracker.services.messaging.subscriptions",
    "tracker.services.signin.sso_links",
    "tracker.services.staffing.engagement_people",
    "tracker.services.staffing.team",
    "tracker.services.workflow.workflow_migration",
)

# greenlet is SQLAlchemy's asyncio bridge, unused here, with the C++ runtime it links.
with without_greenlet(), deferring(DEFERRED_MODULES + RARE_SERVICE_MODULES):
    from tracker import create_app

    app = create_app()

# What create_app built (modules, mapped classes, routes, schemas: ~160,000 tracked
# objects) lives as long as the process. Frozen, the collector's full passes stop walking
# it (each took ~90 ms of a request's time every 60 or so pages), and with a larger first
# generation a page of ORM rows triggers about one young collection instead of fifteen.
# Why and what was measured: docs/adr/0252.
gc.collect()
gc.freeze()
gc.set_threshold(10_000, 20, 20)

if app.config.get("SCHEDULER_EMBEDDED"):  # `make run` only: see tracker.scheduling.trigger
    from tracker.scheduling.trigger import start_embedded

    start_embedded(app)
