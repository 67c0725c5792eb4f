"""What a refused hand-written form comes back with: the values typed and the service's
messages beside their fields (the house rule of ADR 0175), for forms that are plain HTML
rather than WTForms classes (the Evidence card's metric, target and measurement forms).

One `TypedForm` names the form it belongs to (its data-testid); every other form on the
page renders blank, as on a first load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tracker.errors import TrackerError


@dataclass(frozen=True)
class TypedForm:
    """The refused form's id, what was posted, and the messages by field name."""

    form: str = ""
    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, list[str]] = field(default_factory=dict)
    general: tuple[str, ...] = ()  # messages about no single field, shown above the form

    @classmethod
    def refused(
        cls,
        form: str,
        values: Mapping[str, str],
        error: TrackerError,
        fields: Mapping[str, str] | None = None,
    ) -> TypedForm:
        """The form as refused: `fields` maps a service's field name to the form's own
        (measured_at -> measured_on); messages for fields the form lacks go on top."""
        names = set(values) | set((fields or {}).values())
        placed: dict[str, list[str]] = {}
        general = []
        for name, messages in (error.errors or {}).items():
            shown = (fields or {}).get(name, name)
            if shown in names:
                placed.setdefault(shown, []).extend(messages)
            else:
                general.extend(messages)
        if not error.errors or general:
            general.insert(0, error.message)
        kept = {k: v for k, v in values.items() if k != "csrf_token"}
        return cls(form, kept, placed, tuple(general))

    def is_for(self, form: str) -> bool:
        return self.form == form

    def value(self, form: str, name: str, default: str = "") -> str:
        """What was typed in this form's field, or `default` for any other form."""
        return str(self.values.get(name, default)) if self.form == form else default

    def errors_for(self, form: str, name: str) -> list[str]:
        return list(self.errors.get(name, [])) if self.form == form else []
