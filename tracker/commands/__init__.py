"""CLI command groups, one module per feature, each exposing `cli` (a click group)."""
