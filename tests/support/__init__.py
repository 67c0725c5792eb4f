"""Helpers the test suite uses to start real services (PostgreSQL, SMTP, browser)."""
