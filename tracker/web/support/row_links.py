"""Links a list repeats on every row, built through the URL map once a page."""

from __future__ import annotations

from collections.abc import Callable

from flask import url_for

# An id no row has: where it lands in the built URL is where each row's id goes.
_PLACEHOLDER = 2_147_483_647


def _around_id(endpoint: str, key: str) -> tuple[str, str]:
    """The URL `url_for(endpoint, **{key: id})` builds, as the parts before and after the id."""
    built = url_for(endpoint, **{key: _PLACEHOLDER})
    head, found, tail = built.partition(str(_PLACEHOLDER))
    if not found or str(_PLACEHOLDER) in tail:
        raise ValueError(f"{endpoint}: the URL does not hold {key} once")
    return head, tail


def url_by_id(endpoint: str, key: str) -> Callable[[int], str]:
    """`url_for(endpoint, **{key: n})` for any id n, the URL built once: building each of
    a page's fifty row links through the URL map was a tenth of the dashboard's
    rendering (ADR 0257). The endpoint's other parts must not depend on the id."""
    head, tail = _around_id(endpoint, key)
    return lambda value: f"{head}{int(value)}{tail}"


def row_urls(endpoints: dict[str, tuple[str, str]]) -> dict[str, str]:
    """For each name, `url_for(endpoint, **{argument: id})` as a format string whose `{}`
    takes a row's id, for templates that write `urls.name.format(row.id)` (the engagement
    page, ADR 0258). `row_urls({"edit": ("parts.edit", "item_id")})["edit"].format(7)` is
    `url_for("parts.edit", item_id=7)`."""
    built = {}
    for name, (endpoint, argument) in endpoints.items():
        head, tail = (
            part.replace("{", "{{").replace("}", "}}") for part in _around_id(endpoint, argument)
        )
        built[name] = head + "{}" + tail
    return built
