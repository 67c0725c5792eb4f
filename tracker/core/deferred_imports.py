"""Modules a served process loads when they are first used, not when a library imports them.

Some libraries import, at their own import, modules that a web worker never uses: PyYAML
for flask-smorest's `flask openapi --format yaml`, `pdb` through click's test runner (which
Flask-Login's test client imports), `urllib.request` for Flask-WTF's reCAPTCHA check. Each
costs a worker resident memory until it exits (issue 29; figures in docs/benchmarks.md and
ADR 0256). While `deferring(...)` is active, importing one of the named modules binds a
stand-in: reading any attribute of it runs the real module, once, under its own lock (a gthread
worker's second thread waits), and from then on it is the ordinary module. Reading its
`__spec__`, `__name__`, `__path__` or `__loader__` does not run it, so a second `import` of
the name keeps the stand-in.

`without_greenlet()` hides greenlet while SQLAlchemy is imported: SQLAlchemy then sets up
without its asyncio bridge, which the app does not use, and the worker does not load
greenlet and the C++ runtime it links (~1.1 MB resident).

Standard library only: it runs before anything else is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

# What the import system reads of a module in sys.modules without wanting its contents.
_READ_WITHOUT_LOADING = frozenset({"__spec__", "__name__", "__path__", "__loader__", "__class__"})
_PENDING = "__deferred_loader__"
_LOCK = "__deferred_lock__"  # one per module: two threads running two modules do not wait


class _Deferred(types.ModuleType):
    """A module whose code has not run yet; the first attribute read runs it."""

    def __getattribute__(self, name: str):
        if name in _READ_WITHOUT_LOADING:
            return object.__getattribute__(self, name)
        _run(self)
        return object.__getattribute__(self, name)


def _run(module: types.ModuleType) -> None:
    namespace = object.__getattribute__(module, "__dict__")
    lock = namespace.get(_LOCK)
    if lock is None:  # run already
        return
    with lock:
        loader = namespace.pop(_PENDING, None)
        if loader is None:  # run meanwhile, or running in this thread (its own imports)
            return
        try:
            loader.exec_module(module)
        except BaseException:
            namespace[_PENDING] = loader  # a failed run fails again at the next read
            raise
        object.__setattr__(module, "__class__", types.ModuleType)
        namespace.pop(_LOCK, None)


class _DeferredLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__[_PENDING] = self.loader
        module.__dict__[_LOCK] = threading.RLock()
        module.__class__ = _Deferred


class _DeferringFinder(importlib.abc.MetaPathFinder):
    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None  # only plain source modules: a C extension's init cannot wait
        spec.loader = _DeferredLoader(spec.loader)
        return spec


@contextmanager
def deferring(names: Iterable[str]) -> Iterator[None]:
    """Within the block, a first import of one of `names` binds a stand-in that runs the
    module at its first attribute read. Names already imported are left as they are."""
    finder = _DeferringFinder(name for name in names if name not in sys.modules)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def is_pending(module: types.ModuleType) -> bool:
    """True while a deferred module's code has not run."""
    return type(module) is _Deferred


@contextmanager
def without_greenlet() -> Iterator[None]:
    """Hide greenlet from imports made in the block (SQLAlchemy's, when the block is the
    first to import it); afterwards greenlet can be imported as usual."""
    hide = "greenlet" not in sys.modules
    if hide:
        sys.modules["greenlet"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if hide and sys.modules.get("greenlet", False) is None:
            del sys.modules["greenlet"]
