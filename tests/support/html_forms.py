"""The forms a rendered page offers: action -> names of the fields a browser would send."""

from __future__ import annotations

from html.parser import HTMLParser

_FIELDS = {"input", "select", "textarea"}
_NOT_SENT = {"submit", "button", "reset"}


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, set[str]]] = []
        self._current: set[str] | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "form":
            self._current = set()
            self.forms.append((values.get("action") or "", self._current))
        elif tag in _FIELDS and self._current is not None and values.get("name"):
            if values.get("type") not in _NOT_SENT:
                self._current.add(values["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def forms_on(html: str) -> list[tuple[str, set[str]]]:
    """Every <form> on the page as (action, field names), in page order."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def fields_of(html: str, action: str) -> set[str]:
    """The field names of the (first) form posting to `action`; fails if there is none."""
    for form_action, fields in forms_on(html):
        if form_action == action:
            return fields
    raise AssertionError(f"no form posts to {action}")
