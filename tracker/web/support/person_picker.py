"""Reading what a person picker posted (issue 29): the text a `person_picker()` box holds
("Name <email>", an address, or an id from a script) as the id of an internal person.

Whoever it does not name is a validation error naming the field, raised before anything
is changed, so the form is shown again with its message and what was typed.

And the other half of every picker: its suggestions endpoint's arguments (`q`, `page`)
read and refused in one place, and its JSON answer (`suggestions`).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import jsonify, request

from tracker.errors import ValidationFailed
from tracker.services.administration import users

NOT_FOUND = "Choose a person from the list (name and email), or type their email."


def person_id(name: str, *, required: bool = True) -> int | None:
    """The internal person the form's `name` field names; None when left empty and not
    `required`; ValidationFailed naming the field otherwise."""
    raw = (request.form.get(name) or "").strip()
    if not raw:
        if not required:
            return None
        raise ValidationFailed("The form has invalid fields.", errors={name: [NOT_FOUND]})
    found = users.internal_person_id(raw)
    if found is None:
        raise ValidationFailed("The form has invalid fields.", errors={name: [NOT_FOUND]})
    return found


MAX_TEXT = 200
MAX_PAGE = 1000


def suggestion_args() -> tuple[str, int, dict[str, list[str]]]:
    """A suggestions request's typed text (white space folded), its page (1-based), and
    the messages of whichever of `q` and `page` is out of bounds (empty when both are
    fine; the page is then 1)."""
    text = " ".join(request.args.get("q", "").split())
    raw_page = request.args.get("page", "1").strip()
    errors = {}
    if len(text) > MAX_TEXT:
        errors["q"] = [f"At most {MAX_TEXT} characters."]
    page_ok = raw_page.isdigit() and 1 <= int(raw_page) <= MAX_PAGE
    if not page_ok:
        errors["page"] = [f"A whole number from 1 to {MAX_PAGE}."]
    return text, int(raw_page) if page_ok else 1, errors


def suggestions(find: Callable[[str, int], tuple[list[str], bool]], **extra):
    """A picker's JSON answer: `find(text, page)`'s names and whether more follow, as
    {q, page, items, next_page} (plus `extra`); a 422 naming each bad argument instead,
    without calling `find`."""
    text, page, errors = suggestion_args()
    if errors:
        fields = ", ".join(f"'{name}'" for name in errors)
        body = {"code": "validation_failed", "message": f"Check {fields}.", "errors": errors}
        return jsonify(body), 422
    names, more = find(text, page)
    return jsonify(**extra, q=text, page=page, items=names, next_page=page + 1 if more else None)


def init_app(app) -> None:
    """`person_label(user)` for the templates: what a picker shows and posts for them."""
    app.add_template_global(users.person_label, "person_label")
