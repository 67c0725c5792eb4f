"""The suite's own plumbing: `--module-queue` splits one run between processes, module by module.

scripts/test.sh runs the SQLite lane as two pytest processes sharing one queue; if a module
were run by both, or by neither, the lane would repeat or silently drop tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.module_queue import claim, in_claim_order

PLUGIN_CONFTEST = """
from pathlib import Path

import pytest

from tests.support.module_queue import run_claimed


def pytest_addoption(parser):
    parser.addoption("--module-queue")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    directory = session.config.getoption("module_queue")
    return None if directory is None else run_claimed(session, Path(directory))
"""

MODULE = """
from pathlib import Path

import pytest

@pytest.fixture(scope="module")
def built():
    marker = Path(__file__).with_name("built-{name}")
    assert not marker.exists(), "module fixture built twice"
    marker.write_text("")
    return True

@pytest.mark.parametrize("n", range({count}))
def test_runs(built, n):
    assert built
"""


def _tree(root: Path, counts: dict[str, int]) -> None:
    (root / "conftest.py").write_text(PLUGIN_CONFTEST)
    for name, count in counts.items():
        (root / f"test_{name}.py").write_text(MODULE.format(name=name, count=count))


def _run(root: Path, queue: Path, *extra: str) -> subprocess.Popen:
    root_of_repo = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=root_of_repo, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "no:randomly"]
        + ["--rootdir", str(root), "-c", os.devnull, "--module-queue", str(queue), *extra]
        + [str(root)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_processes_run_every_module_exactly_once_between_them(tmp_path):
    counts = {f"m{i}": i + 1 for i in range(8)}  # 36 tests in 8 modules
    root = tmp_path / "tree"
    root.mkdir()
    _tree(root, counts)
    queue = tmp_path / "queue"
    runs = [_run(root, queue), _run(root, queue)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    passed = [re.findall(r"test_(m\d)\.py::test_runs\[\d+\] PASSED", out) for out in outputs]
    everything = passed[0] + passed[1]
    assert len(everything) == sum(counts.values())
    assert set(passed[0]).isdisjoint(passed[1]), "a module ran in both processes"
    assert {m: everything.count(m) for m in counts} == counts
    assert len(list(queue.iterdir())) == len(counts)  # one claim file a module


def test_a_selection_is_honoured_and_a_module_already_claimed_is_not_run(tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    _tree(root, {"a": 2, "b": 3, "c": 1})
    queue = tmp_path / "queue"
    queue.mkdir()
    assert claim(queue, "test_b.py")  # another process has it
    assert not claim(queue, "test_b.py")

    run = _run(root, queue, "-k", "not test_c")
    output = run.communicate(timeout=120)[0]
    assert run.returncode == 0, output
    assert re.findall(r"test_(\w)\.py::test_runs\[\d+\] PASSED", output) == ["a", "a"]


class _Item:
    def __init__(self, nodeid: str, slow: bool = False):
        self.nodeid = nodeid
        self.slow = slow

    def get_closest_marker(self, name: str):
        return object() if name == "slow" and self.slow else None


def test_modules_are_handed_out_heaviest_first_and_kept_whole():
    items = [
        _Item("tests/test_small.py::test_one"),
        _Item("tests/test_many.py::test_one"),
        _Item("tests/test_small.py::test_two"),
        *[_Item(f"tests/test_many.py::test_{n}") for n in range(5)],
        _Item("tests/test_process.py::test_kill", slow=True),
    ]
    order = [[i.nodeid for i in group] for group in in_claim_order(items)]
    assert [group[0].split("::")[0] for group in order] == [
        "tests/test_process.py",  # one slow test outweighs six quick ones
        "tests/test_many.py",
        "tests/test_small.py",
    ]
    assert order[2] == ["tests/test_small.py::test_one", "tests/test_small.py::test_two"]
