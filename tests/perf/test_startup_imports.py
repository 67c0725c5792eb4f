"""What a web worker imports at start-up: the libraries of rare paths are left for them.

Authlib and joserfc (SSO sign-in), icalendar (calendar feeds) and Flask-Migrate with
Alembic, Mako and Pygments (`flask db`) cost a worker about 28 MB of its peak RSS when
imported with the app (docs/benchmarks.md, issue 29); markdown-it and nh3 (ADR text)
~3 MB more. A new top-level import of any of them brings that back and fails here; the
paths that use them are tested where they live.
"""

from __future__ import annotations

from pathlib import Path

from tests.perf.helpers import after_wsgi_import

LEFT_FOR_LATER = (
    *("authlib", "joserfc", "icalendar", "flask_migrate", "alembic", "mako"),
    *("markdown_it", "nh3"),
)
# Modules of the email outbox page and the digest preview (smtplib and the MIME writers
# with them, ~0.5 MB, issue 29); the scheduler's processes import them where they send.
MODULES_LEFT_FOR_LATER = (
    "smtplib",
    "tracker.notifications.delivery",
    "tracker.notifications.digests",
    "tracker.services.messaging.outbox_admin",
)


def test_the_wsgi_app_starts_without_the_rare_paths_libraries(tmp_path):
    script = "import json, sys, wsgi; print(json.dumps(sorted(sys.modules)))"
    modules = set(after_wsgi_import(tmp_path, script))
    loaded = {name.split(".")[0] for name in modules}
    assert "tracker" in loaded and "flask" in loaded  # the app did start
    assert "tracker.web.admin_outbox" in modules and "tracker.web.digests" in modules
    assert loaded.isdisjoint(LEFT_FOR_LATER), sorted(loaded & set(LEFT_FOR_LATER))
    assert modules.isdisjoint(MODULES_LEFT_FOR_LATER), sorted(modules & set(MODULES_LEFT_FOR_LATER))


def test_the_openapi_document_is_written_at_its_first_read(tmp_path):
    """A worker starts with the API's routes but not their description: the first read of
    `api.spec` (the /api/v1/openapi.json view, `flask openapi`) copies each endpoint's doc
    info (tracker.api.common.Blueprint) and writes every path."""
    script = (
        "import json, wsgi; from tracker.extensions import api\n"
        "from tracker.api import api_modules\n"
        "at_start = len(api._spec.to_dict().get('paths', {}))\n"
        "copies = sum(len(m.blp._docs) for m in api_modules())\n"
        "routes = {r.rule for r in wsgi.app.url_map.iter_rules() if r.rule.startswith('/api/v1/')"
        " and not r.rule.startswith('/api/v1/openapi') and not r.rule.startswith('/api/v1/docs')}\n"
        "with wsgi.app.app_context(): paths = set(api.spec.to_dict()['paths'])\n"
        "copied = sum(len(m.blp._docs) for m in api_modules())\n"
        "print(json.dumps([at_start, copies, len(paths), len(routes), copied]))"
    )
    at_start, copies, documented, routes, copied = after_wsgi_import(tmp_path, script)
    assert (at_start, copies) == (0, 0)  # neither the document nor the views' doc copies
    assert documented == routes > 50
    assert copied > 50  # one per endpoint, made for the document


def test_the_migration_extension_is_there_when_something_reads_it(app):
    """The stand-in becomes Flask-Migrate's own config on first read (what
    flask_migrate.upgrade() and migrations/env.py use)."""
    stand_in = app.extensions["migrate"]
    assert stand_in.db is not None
    assert Path(stand_in.directory).name == "migrations"
    with app.app_context():
        config = stand_in.migrate.get_config()
    assert config.get_main_option("script_location") == stand_in.directory


def test_a_worker_starts_without_greenlet_and_runs_deferred_modules_at_first_use(tmp_path):
    """greenlet (SQLAlchemy's asyncio bridge, with the C++ runtime) is not loaded, and the
    modules wsgi.DEFERRED_MODULES names are stand-ins whose code has not run (their own
    imports absent) until an attribute is read; then they work as usual (ADR 0256)."""
    script = (
        "import json, sys, wsgi\n"
        "from sqlalchemy.util import concurrency\n"
        "from tracker.core.deferred_imports import is_pending\n"
        "mods = wsgi.DEFERRED_MODULES\n"
        "at_start = [sorted(sys.modules), concurrency.have_greenlet,\n"
        "            {n: is_pending(sys.modules[n]) for n in mods}]\n"
        "import yaml, pdb, urllib.request\n"
        "used = [yaml.safe_load(yaml.safe_dump({'a': [1]})), pdb.Pdb.__name__,\n"
        "        urllib.request.Request('http://example.test/x').host,\n"
        "        sys.modules['sqlalchemy.dialects.postgresql.asyncpg'].dialect.driver]\n"
        "import greenlet\n"
        "print(json.dumps([at_start, used, {n: is_pending(sys.modules[n]) for n in mods}]))"
    )
    (modules, have_greenlet, pending), used, pending_after = after_wsgi_import(tmp_path, script)
    assert "tracker" in {name.split(".")[0] for name in modules}
    assert "greenlet" not in modules and not have_greenlet
    assert set(pending) >= {
        "yaml",
        "pdb",
        "urllib.request",
        "sqlalchemy.dialects.postgresql.asyncpg",
    }
    assert all(pending.values()), pending
    # What the real modules import is not there yet: their code has not run.
    assert {"yaml.reader", "yaml.cyaml", "bdb", "urllib.response"}.isdisjoint(modules)
    assert "sqlalchemy.connectors.asyncio" not in modules
    assert used == [{"a": [1]}, "Pdb", "example.test", "asyncpg"]
    assert {name for name, waiting in pending_after.items() if not waiting} == {
        "yaml",
        "pdb",
        "urllib.request",
        "sqlalchemy.dialects.postgresql.asyncpg",
    }


def test_the_rare_services_run_at_their_first_call_and_then_load_cleanly(tmp_path):
    """wsgi.RARE_SERVICE_MODULES have not run when a worker starts (a blueprint that imports
    a name from one of them at start would run it; then it does not belong in the list), and
    each runs without error once everything else is loaded."""
    script = (
        "import json, sys, wsgi\n"
        "from tracker.core.deferred_imports import is_pending\n"
        "names = wsgi.RARE_SERVICE_MODULES\n"
        "at_start = {n: is_pending(sys.modules[n]) for n in names if n in sys.modules}\n"
        "docs = {n: bool(sys.modules[n].__doc__) for n in names}\n"
        "print(json.dumps([list(names), at_start, docs,"
        " {n: is_pending(sys.modules[n]) for n in names}]))"
    )
    names, at_start, docs, after = after_wsgi_import(tmp_path, script)
    assert len(names) >= 10
    assert at_start == dict.fromkeys(names, True)
    assert docs == dict.fromkeys(names, True)  # every one ran and has its docstring
    assert after == dict.fromkeys(names, False)


def test_signing_in_and_the_dashboard_leave_the_deferred_modules_unrun(tmp_path):
    """What the sign-in peak (docs/benchmarks.md) relies on: a fresh worker signs a manager
    in through the form without running any module wsgi defers, and the dashboard and the
    API list run only the workflow catalogue's TOML reader."""
    script = (
        "import json, re, sys, wsgi\n"
        "from tracker.core.deferred_imports import is_pending\n"
        "from tracker.extensions import db\n"
        "from tracker.models import User\n"
        "from tracker.auth.passwords import hash_password\n"
        "app = wsgi.app\n"
        "with app.app_context():\n"
        "    db.create_all()\n"
        "    db.session.add(User(email='m@example.test', name='M', role='manager',\n"
        "                        password_hash=hash_password('a-long-password')))\n"
        "    db.session.commit()\n"
        "client = app.test_client()\n"
        "page = client.get('/login').get_data(as_text=True)\n"
        'token = re.search(r\'name="csrf_token" type="hidden" value="([^"]+)"\', page)[1]\n'
        "form = {'email': 'm@example.test', 'password': 'a-long-password', 'csrf_token': token}\n"
        "names = wsgi.DEFERRED_MODULES + wsgi.RARE_SERVICE_MODULES\n"
        "def ran():\n"
        "    loaded = [sys.modules[n] for n in names if n in sys.modules]\n"
        "    return sorted(m.__name__ for m in loaded if not is_pending(m))\n"
        "statuses = [client.post('/login', data=form).status_code]\n"
        "after_sign_in = ran()\n"
        "statuses.append(client.get('/dashboard').status_code)\n"
        "statuses.append(client.get('/api/v1/engagements').status_code)\n"
        "print(json.dumps([statuses, after_sign_in, ran()]))"
    )
    statuses, after_sign_in, after_pages = after_wsgi_import(tmp_path, script)
    assert statuses == [302, 200, 200]
    assert after_sign_in == []
    assert after_pages == ["tomllib"]  # the workflow catalogue, read for the dashboard
