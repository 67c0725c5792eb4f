"""Links a list repeats on every row, built through the URL map once a page."""

from __future__ import annotations

from collections.abc import Callable

from flask import url_for

# An id no row has: where it lands in the built URL is where each row's id goes.
_PLACEHOLDER = 2_147_483_647


def url_by_id(endpoint: str, key: str) -> Callable[[int], str]:
    """`url_for(endpoint, **{key: n})` for any id n, the URL built once: building each of
    a page's fifty row links through the URL map was a tenth of the dashboard's
    rendering (ADR 0257). The endpoint's other parts must not depend on the id."""
    built = url_for(endpoint, **{key: _PLACEHOLDER})
    head, found, tail = built.partition(str(_PLACEHOLDER))
    if not found or str(_PLACEHOLDER) in tail:
        raise ValueError(f"{endpoint}: the URL does not hold {key} once")
    return lambda value: f"{head}{int(value)}{tail}"
