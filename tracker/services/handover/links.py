"""The one rule for evidence and document links in the handover records."""

from __future__ import annotations

from urllib.parse import urlsplit

LINK_MAX = 500


def url_problem(link: str) -> str | None:
    """None for an empty or a plain http(s) link, else the sentence a form shows."""
    if not link:
        return None
    parts = urlsplit(link)
    if len(link) > LINK_MAX or parts.scheme not in ("http", "https") or not parts.netloc:
        return f"Give a link starting with http:// or https:// (at most {LINK_MAX} characters)."
    return None
