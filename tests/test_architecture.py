"""House rules no linter checks: who may commit (docs/architecture.md, ADR 0112)."""

import ast
from pathlib import Path

TRACKER = Path(__file__).resolve().parents[1] / "tracker"

# Besides services: the scheduler side's per-row unit of work, its bookkeeping
# (scheduling/status.py), the claim's own transaction, the digest run's
# per-subscription commit, a webhook attempt's result (its HTTP request runs outside
# any transaction, docs/adr/0093), the reminders' per-batch unit of work
# (docs/adr/0165), the outbox's outcomes as they happen (docs/adr/0205), a delivery
# breaker's own write (docs/adr/0204), the demo loader, and the end of a request's
# transaction that sent only SELECTs (docs/adr/0253: nothing to commit, but a COMMIT
# keeps PostgreSQL's prepared statements where a ROLLBACK drops them).
MAY_COMMIT = {
    "db_setup.py",
    "scheduling/claims.py",
    "scheduling/status.py",
    "notifications/circuits.py",
    "notifications/delivery.py",
    "notifications/digests.py",
    "notifications/reminder_delivery.py",
    "notifications/webhook_delivery.py",
}
MAY_COMMIT_UNDER = ("services/", "demo/")


def _commits(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_only_services_and_the_scheduler_unit_of_work_commit():
    offenders = []
    for path in sorted(TRACKER.rglob("*.py")):
        name = path.relative_to(TRACKER).as_posix()
        if name in MAY_COMMIT or name.startswith(MAY_COMMIT_UNDER):
            continue
        offenders += [f"tracker/{name}:{line}" for line in _commits(path)]
    assert offenders == []


def test_the_allowed_places_do_commit():
    """The allowance is not stale: each file named above really commits."""
    for name in MAY_COMMIT:
        assert _commits(TRACKER / name), name


WEB = TRACKER / "web"
NOT_BLUEPRINTS = {"__init__.py", "overview.py"}  # overview: the engagement page's read model


def test_each_page_module_is_the_blueprint_of_its_name(app):
    """ADR 0215: tracker/web/<name>.py registers the blueprint <name>, and nothing else
    sits beside the blueprints (shared helpers live in web/support/)."""
    modules = {p.stem for p in WEB.glob("*.py") if p.name not in NOT_BLUEPRINTS}
    web_blueprints = {
        name for name, bp in app.blueprints.items() if bp.import_name.startswith("tracker.web.")
    }
    assert modules == web_blueprints
    for name in modules:
        assert app.blueprints[name].import_name == f"tracker.web.{name}"


def test_templates_live_under_their_blueprint_or_in_shared():
    """A page's templates are in templates/<blueprint>/; layout, macros and partials two
    blueprints include in shared/; email/ is the notifications' mail; swagger_ui.html
    overrides flask-smorest's template of that name."""
    templates = WEB / "templates"
    blueprints = {p.stem for p in WEB.glob("*.py") if p.name not in NOT_BLUEPRINTS}
    folders = {p.name for p in templates.iterdir() if p.is_dir()}
    assert folders - blueprints == {"shared", "email"}
    assert {p.name for p in templates.iterdir() if p.is_file()} == {"swagger_ui.html"}
