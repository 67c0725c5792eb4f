"""Split one pytest run between several processes, a test module at a time, as each gets free.

`pytest --module-queue DIR` run by two (or more) processes with the same DIR and the same
selection: every process collects the same tests, then, module by module, claims the next
module nobody has claimed yet (an exclusive create of a file in DIR, so exactly one process
gets it) and runs it whole. A process that finishes early takes more modules, so the
processes end within about one module of each other without a list of paths or a timings
file to keep up to date. A module is never split, so module-scoped fixtures are built once.

Modules go heaviest first (by an estimate: tests marked `slow` count for many), so the
last modules handed out are short ones and no process is left with a long module at the end.
Each claim file names the process and the module, which is how a lane's log can say who ran
what.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

SLOW_WEIGHT = 25  # a `slow` test costs about as much as this many ordinary ones


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def in_claim_order(items: list[pytest.Item]) -> list[list[pytest.Item]]:
    """The selected tests grouped by module (collection order within), heaviest module first."""
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        groups.setdefault(module_of(item), []).append(item)

    def weight(group: list[pytest.Item]) -> int:
        return sum(SLOW_WEIGHT if i.get_closest_marker("slow") else 1 for i in group)

    # sorted() is stable: equal weights keep collection order, the same in every process
    return sorted(groups.values(), key=weight, reverse=True)


def claim(directory: Path, module: str) -> bool:
    """True for exactly one of the processes that ask for this module."""
    name = hashlib.sha256(module.encode()).hexdigest()[:32]
    try:
        fd = os.open(directory / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as claimed:
        claimed.write(f"{os.getpid()} {module}\n")
    return True


def claimed_items(directory: Path, items: list[pytest.Item]) -> Iterator[pytest.Item]:
    for group in in_claim_order(items):
        if claim(directory, module_of(group[0])):
            yield from group


def run_claimed(session: pytest.Session, directory: Path) -> bool:
    """pytest's own test loop, over the claimed modules only.

    The next test is known before the current one runs (pytest tears fixtures down by
    comparing the two), so the next module is claimed as the current one's last test starts.
    """
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} errors during collection")
    if session.config.option.collectonly:
        return True
    directory.mkdir(parents=True, exist_ok=True)
    queue = claimed_items(directory, session.items)
    item = next(queue, None)
    while item is not None:
        nextitem = next(queue, None)
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
        item = nextitem
    return True
