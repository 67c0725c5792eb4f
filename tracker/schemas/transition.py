"""Lifecycle transition schemas: the options out of the current state, and firing one."""

from marshmallow import Schema, ValidationError, fields

from tracker.schemas.common import NO_NUL, TEXT_MAX, Text, UnmetSchema


class InputSpecSchema(Schema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    label = fields.String(required=True)
    required = fields.Boolean(required=True)
    min = fields.Integer(allow_none=True)
    max = fields.Integer(allow_none=True)
    max_length = fields.Integer(allow_none=True)
    choices = fields.List(fields.String(), required=True)
    help = fields.String(required=True)


class TransitionOptionSchema(Schema):
    """A transition out of the current state: allowed, or refused with every unmet requirement."""

    event = fields.String(required=True)
    label = fields.String(required=True)
    to_state = fields.String(required=True)
    allowed = fields.Boolean(required=True)
    unmet = fields.List(fields.Nested(UnmetSchema), required=True)
    inputs = fields.List(fields.Nested(InputSpecSchema), required=True)
    roles = fields.List(fields.String(), required=True)
    overridable = fields.Boolean(required=True)


def _plain_values(inputs: dict) -> None:
    """Input values are scalars, and text is storable (the reason ends up in the audit row)."""
    for name, value in inputs.items():
        if isinstance(value, dict | list):
            raise ValidationError(f"{name}: give a single value, not a list or object.")
        if isinstance(value, str) and ("\x00" in value or len(value) > TEXT_MAX):
            raise ValidationError(f"{name}: at most {TEXT_MAX} characters, no NUL characters.")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValidationError(f"{name}: text must be valid Unicode.") from exc


class FireSchema(Schema):
    inputs = fields.Dict(
        keys=Text(max_length=60),
        validate=_plain_values,
        load_default=dict,
        metadata={
            "description": "The transition's inputs by name (see GET .../transitions): each a "
            "single value; which names and types an event takes is its definition's",
            # what _plain_values enforces, stated: a scalar, text storable and bounded
            "additionalProperties": {
                "nullable": True,
                "anyOf": [
                    {"type": "string", "maxLength": TEXT_MAX, "pattern": NO_NUL},
                    {"type": "number"},
                    {"type": "boolean"},
                ],
            },
        },
    )
    override_reason = Text(
        max_length=TEXT_MAX,
        allow_none=True,
        metadata={"description": "Admins only: go past unmet requirements, with a written reason"},
    )
