"""A refused single sign-on: the error the page shows, and its one audit event."""

from __future__ import annotations

from tracker.errors import TrackerError
from tracker.extensions import db
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive

SSO_LABEL = "single sign-on"


class SsoRefused(TrackerError):
    """A sign-in through the identity provider that was refused, with the reason code."""

    status = 403
    code = "sso_refused"

    def __init__(self, reason: str, message: str, *, status: int = 403):
        super().__init__(message)
        self.reason = reason
        self.status = status


def refuse(reason: str, message: str, *, status: int = 403, data: dict | None = None):
    """Undo anything pending, write the refusal's audit event, commit it; the error."""
    db.session.rollback()
    audit.record(None, None, "sso_refused", reason=reason, data=data or {}, label=SSO_LABEL)
    commit_and_derive()
    return SsoRefused(reason, message, status=status)
