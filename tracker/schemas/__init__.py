"""marshmallow schemas: shape and field rules only (no database, no current user)."""
