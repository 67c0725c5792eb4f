"""Tests for stakeholder digests: periods, runs, content, unsubscribe, UI, API, CLI."""
