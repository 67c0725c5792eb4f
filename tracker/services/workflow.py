"""Binding between the pure workflow engine and the database."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import current_app

from workflows import Catalog, Definition


@lru_cache(maxsize=8)
def _catalog(directory: str) -> Catalog:
    return Catalog.load(Path(directory))


def catalog() -> Catalog:
    """The definitions shipped in WORKFLOW_DIR, loaded and validated once per process."""
    return _catalog(current_app.config["WORKFLOW_DIR"])


def latest_definition(name: str | None = None) -> Definition:
    """The newest version of a definition (the configured default when no name is given)."""
    return catalog().latest(name or current_app.config["DEFAULT_WORKFLOW"])


def definition_for(name: str, version: int) -> Definition:
    """The exact version a running engagement is on."""
    return catalog().get(name, version)
