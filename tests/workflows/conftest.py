"""Fixtures for the workflow engine tests: the shipped catalog and an engine on it."""

from __future__ import annotations

import pytest

from workflows import Catalog, Engine


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped definitions."""
    return Catalog.load()


@pytest.fixture(scope="session")
def engine(catalog: Catalog) -> Engine:
    """An engine on the default staff-augmentation lifecycle."""
    return Engine(catalog.get("staff_augmentation", 5))
