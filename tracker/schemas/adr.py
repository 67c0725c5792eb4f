"""ADR schemas: proposing and editing, deciding, history, export and import."""

from marshmallow import Schema, ValidationError, fields, validate

from tracker.schemas.common import NAME_MAX, TEXT_MAX, Id, Text, UserRefSchema

PROFILES = ["adr-tools", "madr", "log4brains"]


class AdrWriteSchema(Schema):
    """Propose an ADR; managers may create it accepted straight away."""

    title = Text(required=True, min_length=1, max_length=NAME_MAX)
    status = fields.String(
        load_default="proposed", validate=validate.OneOf(["proposed", "accepted"])
    )
    decided_on = fields.Date(allow_none=True)
    deciders = Text(max_length=500)
    context = Text(max_length=TEXT_MAX)
    decision = Text(max_length=TEXT_MAX)
    consequences = Text(max_length=TEXT_MAX)
    supersedes_id = Id(allow_none=True)


class AdrUpdateSchema(Schema):
    """PATCH an ADR's text: any subset."""

    title = Text(min_length=1, max_length=NAME_MAX)
    decided_on = fields.Date()
    deciders = Text(max_length=500)
    context = Text(max_length=TEXT_MAX)
    decision = Text(max_length=TEXT_MAX)
    consequences = Text(max_length=TEXT_MAX)
    supersedes_id = Id(allow_none=True)


class AdrDecisionSchema(Schema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(["accepted", "rejected", "deprecated"]),
        metadata={
            "description": "From proposed: accepted or rejected; from accepted: deprecated. "
            "Any other move is a 409 naming `status`."
        },
    )
    note = Text(max_length=5000, load_default="")


class AdrRefSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)


class AdrSchema(Schema):
    id = fields.Integer(required=True)
    engagement_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    decided_on = fields.Date(required=True)
    deciders = fields.String(required=True)
    context = fields.String(required=True)
    decision = fields.String(required=True)
    consequences = fields.String(required=True)
    supersedes = fields.Nested(AdrRefSchema, allow_none=True)
    superseded_by = fields.List(fields.Nested(AdrRefSchema), required=True)
    author = fields.Nested(UserRefSchema, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    version = fields.Integer(required=True)


class AdrRevisionSchema(Schema):
    id = fields.Integer(required=True)
    change = fields.String(required=True)
    author = fields.Nested(UserRefSchema, allow_none=True)
    snapshot = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)


class ExportArgsSchema(Schema):
    profile = fields.String(load_default="adr-tools", validate=validate.OneOf(PROFILES))


FILES_MAX = 2000


def _file_count(files: dict) -> None:
    if not 1 <= len(files) <= FILES_MAX:
        raise ValidationError(f"Give between 1 and {FILES_MAX} files.")


class ImportSchema(Schema):
    """ADR files as JSON: relative path -> Markdown text (the layout is detected per file)."""

    files = fields.Dict(
        keys=Text(min_length=1, max_length=300),
        values=Text(max_length=200_000),
        required=True,
        # stated as minProperties/maxProperties: Length would print string keywords
        validate=_file_count,
        metadata={
            "minProperties": 1,
            "maxProperties": FILES_MAX,
            "description": "Relative path (1 to 300 characters) -> the file's Markdown. At "
            "least one file must be an ADR (a numbered Markdown decision record); a number "
            "the engagement already has is refused.",
        },
    )
