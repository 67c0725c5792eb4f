"""Fixtures for workflow versioning: a private WORKFLOW_DIR with a v1 (shipped text), and a v2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflows import DEFINITIONS_DIR

SHIPPED_BYTES = (DEFINITIONS_DIR / "staff_augmentation.toml").read_bytes()
# The versioning story starts at version 1: the shipped lifecycle, renumbered.
V1_BYTES = re.sub(rb"^version = \d+$", b"version = 1", SHIPPED_BYTES, count=1, flags=re.M)


def v2_bytes() -> bytes:
    """The shipped lifecycle as version 2, with the state 'extension' renamed."""
    text = V1_BYTES.decode("utf-8").replace("version = 1", "version = 2", 1)
    text = text.replace("[states.extension]", "[states.extension_period]")
    text = re.sub(r'"extension"', '"extension_period"', text)
    return text.encode("utf-8")


def write_v2(directory: Path) -> Path:
    """Ship version 2 beside version 1, as an author would."""
    path = directory / "staff_augmentation.v2.toml"
    path.write_bytes(v2_bytes())
    return path


@pytest.fixture
def workflow_dir(tmp_path) -> Path:
    """A definitions directory with only staff_augmentation v1 (the shipped text as v1)."""
    directory = tmp_path / "definitions"
    directory.mkdir()
    (directory / "staff_augmentation.toml").write_bytes(V1_BYTES)
    return directory


@pytest.fixture
def wf_app(make_app, workflow_dir):
    """The app on TEST_DB, reading definitions from `workflow_dir`."""
    return make_app(WORKFLOW_DIR=str(workflow_dir))


@pytest.fixture
def cli(wf_app):
    """Invoke `flask workflows ...` against wf_app; returns click's Result."""
    runner = wf_app.test_cli_runner()
    return lambda *args: runner.invoke(args=["workflows", *args])
