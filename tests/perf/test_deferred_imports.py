"""tracker.core.deferred_imports: a deferred module runs once, at its first attribute read,
also when two threads read at once; a failed run fails again; greenlet hidden, then back."""

from __future__ import annotations

import importlib
import sys
import threading

import pytest

from tracker.core.deferred_imports import deferring, is_pending, without_greenlet

SLOW_MODULE = """
import sys, time
runs = getattr(sys, "_deferred_test_runs", 0) + 1
sys._deferred_test_runs = runs
time.sleep(0.2)
VALUE = "ready"
"""


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("deferred_probe")]:
        del sys.modules[name]
    if hasattr(sys, "_deferred_test_runs"):
        del sys._deferred_test_runs
    importlib.invalidate_caches()


def test_the_module_runs_once_when_two_threads_read_it_first(module_dir):
    (module_dir / "deferred_probe_slow.py").write_text(SLOW_MODULE)
    with deferring(["deferred_probe_slow"]):
        import deferred_probe_slow
    import deferred_probe_slow as again  # a second import keeps the stand-in

    assert is_pending(deferred_probe_slow) and again is deferred_probe_slow
    assert not hasattr(sys, "_deferred_test_runs")
    seen = []
    threads = [
        threading.Thread(target=lambda: seen.append(deferred_probe_slow.VALUE)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == ["ready", "ready"]
    assert sys._deferred_test_runs == 1
    assert not is_pending(deferred_probe_slow)
    assert type(deferred_probe_slow) is type(sys)


def test_names_outside_the_list_and_after_the_block_import_as_usual(module_dir):
    (module_dir / "deferred_probe_other.py").write_text("VALUE = 1\n")
    (module_dir / "deferred_probe_late.py").write_text("VALUE = 2\n")
    with deferring(["deferred_probe_late"]):
        import deferred_probe_other
    import deferred_probe_late

    assert not is_pending(deferred_probe_other) and not is_pending(deferred_probe_late)


def test_a_module_that_fails_fails_again_at_the_next_read(module_dir):
    path = module_dir / "deferred_probe_broken.py"
    path.write_text("raise RuntimeError('broken at import')\n")
    with deferring(["deferred_probe_broken"]):
        import deferred_probe_broken
    for _ in range(2):
        with pytest.raises(RuntimeError, match="broken at import"):
            deferred_probe_broken.VALUE  # noqa: B018
    assert is_pending(deferred_probe_broken)


def test_greenlet_is_hidden_only_inside_the_block(monkeypatch):
    monkeypatch.delitem(sys.modules, "greenlet", raising=False)  # restored afterwards
    with without_greenlet():
        with pytest.raises(ImportError):
            import greenlet  # noqa: F401
    import greenlet  # noqa: F401, F811

    assert sys.modules["greenlet"] is greenlet
