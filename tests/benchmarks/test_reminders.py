"""benchmarks/reminders.py measures the scheduler as its process runs: with the garbage
collector set up as wsgi.py sets it (`flask scheduler ...` loads the app through wsgi.py)."""

from __future__ import annotations

import gc

from benchmarks import reminders
from tests.perf.helpers import after_wsgi_import


def test_the_benchmark_sets_the_collector_as_the_flask_process_does(tmp_path):
    script = "import gc, json, wsgi\nprint(json.dumps(gc.get_threshold()))"
    assert tuple(after_wsgi_import(tmp_path, script)) == reminders.FLASK_PROCESS_THRESHOLD


def test_setup_applies_the_flask_process_collector(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *args: calls.append(args))

    class Smtp:
        config = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": 2525}

    reminders._setup(f"sqlite:///{tmp_path / 'b.db'}", Smtp(), str(tmp_path / "mail"))
    assert calls == ["freeze", reminders.FLASK_PROCESS_THRESHOLD]
    calls.clear()
    reminders._setup(f"sqlite:///{tmp_path / 'c.db'}", Smtp(), str(tmp_path / "m"), "default")
    assert calls == []
