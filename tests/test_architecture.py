"""House rules no linter checks: who may commit (docs/architecture.md, ADR 0112)."""

import ast
from pathlib import Path

TRACKER = Path(__file__).resolve().parents[1] / "tracker"

# Besides services: the scheduler side's per-row unit of work, its bookkeeping
# (scheduling/status.py), the claim's own transaction, the digest run's
# per-subscription commit, a webhook attempt's result (its HTTP request runs outside
# any transaction, docs/adr/0093), the reminders' per-batch unit of work
# (docs/adr/0165), the outbox's outcomes as they happen (docs/adr/0205), a delivery
# breaker's own write (docs/adr/0204), and the demo loader.
MAY_COMMIT = {
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
