"""Every test in this folder drives the browser; the fixtures live in tests/support/browser.py."""

import pytest

from tests.support.browser import ARTIFACTS, CHROMIUM_ARGS, login, screenshot  # noqa: F401


def pytest_collection_modifyitems(items):
    """Mark this folder's tests so `-m "not browser"` can leave them out."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
