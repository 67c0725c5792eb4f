"""Reading what a person picker posted (issue 29): the text a `person_picker()` box holds
("Name <email>", an address, or an id from a script) as the id of an internal person.

Whoever it does not name is a validation error naming the field, raised before anything
is changed, so the form is shown again with its message and what was typed.
"""

from __future__ import annotations

from flask import request

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


def init_app(app) -> None:
    """`person_label(user)` for the templates: what a picker shows and posts for them."""
    app.add_template_global(users.person_label, "person_label")
