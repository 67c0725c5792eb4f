"""The catalog of definitions (workflows/catalog.py): versions, errors across files, and
the shipped lifecycles."""

from __future__ import annotations

import pytest

from tests.workflows.workflow_facts import MINIMAL
from workflows import (
    Catalog,
    InvalidDefinition,
)
from workflows.errors import UnknownDefinition


def test_catalog_keeps_several_versions_and_defaults_to_the_latest(tmp_path):
    (tmp_path / "mini.toml").write_text(MINIMAL)
    (tmp_path / "mini.v2.toml").write_text(MINIMAL.replace("version = 1", "version = 2"))
    catalog = Catalog.load(tmp_path)
    assert catalog.versions("mini") == [1, 2]
    assert catalog.get("mini").version == 2 == catalog.latest("mini").version
    assert catalog.get("mini", 1).version == 1
    with pytest.raises(UnknownDefinition, match="known versions: 1, 2"):
        catalog.get("mini", 3)
    with pytest.raises(UnknownDefinition):
        catalog.latest("other")


def test_catalog_aggregates_errors_across_files(tmp_path):
    (tmp_path / "a.toml").write_text(MINIMAL.replace('to = "b"', 'to = "x"'))
    (tmp_path / "b.toml").write_text(MINIMAL.replace("version = 1", 'version = "one"'))
    (tmp_path / "c.toml").write_text(MINIMAL)
    (tmp_path / "d.toml").write_text(MINIMAL)
    with pytest.raises(InvalidDefinition) as caught:
        Catalog.load(tmp_path)
    files = [error.split(":")[0] for error in caught.value.errors]
    assert {"a.toml", "b.toml", "d.toml"} <= set(files)
    assert any("mini v1 is also defined in c.toml" in e for e in caught.value.errors)


def test_shipped_catalog_has_both_lifecycles(catalog):
    assert catalog.names() == ["fractional_lead", "staff_augmentation"]
