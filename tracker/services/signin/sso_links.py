"""Single sign-on links as an administrator sees them: which user answers to which subject
at which identity provider, and removing a link (docs/adr/0197, 0226).

Unlinking does not lock anyone out and lets nobody in: the person's next sign-in through
that provider links again by their verified email, with the same checks as a first
sign-in (allowed domain, active account). It is how an administrator mends a link to an
identity the provider has replaced (a re-created account gets a new subject). Each
unlink is an audit event naming the user, the issuer and the subject.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from tracker.errors import Forbidden, NotFound
from tracker.extensions import db
from tracker.models import SsoLink, User
from tracker.services.core import audit
from tracker.services.signin.sso_config import configured_issuers

LINK_NOT_FOUND = "Single sign-on link not found."
# The audit kinds of a user's links, for their history on the admin page.
LINK_KINDS = ("sso_linked", "sso_unlinked")


@dataclass(frozen=True)
class LinkView:
    """One link in words: the provider's configured name (or its issuer URL when it is no
    longer configured), the subject, the email it was made with, when."""

    id: int
    user_id: int
    provider: str
    issuer: str
    subject: str
    email_at_link: str
    created_at: datetime
    last_login_at: datetime | None
    configured: bool


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden("Only admins manage single sign-on links.")


def links_by_user(actor: User, user_ids: Iterable[int]) -> dict[int, list[LinkView]]:
    """user id -> their links, oldest first (one query for any number of users)."""
    _require_admin(actor)
    ids = list(user_ids)
    found: dict[int, list[LinkView]] = defaultdict(list)
    if not ids:
        return found
    names = {i.issuer: i.name for i in configured_issuers().values()}
    rows = db.session.scalars(
        select(SsoLink).where(SsoLink.user_id.in_(ids)).order_by(SsoLink.created_at, SsoLink.id)
    )
    for link in rows:
        found[link.user_id].append(
            LinkView(
                id=link.id,
                user_id=link.user_id,
                provider=names.get(link.issuer, link.issuer),
                issuer=link.issuer,
                subject=link.subject,
                email_at_link=link.email_at_link,
                created_at=link.created_at,
                last_login_at=link.last_login_at,
                configured=link.issuer in names,
            )
        )
    return found


def unlink(actor: User, user_id: int, link_id: int) -> SsoLink:
    """Remove one of the user's links; a link of another user answers as a missing one."""
    _require_admin(actor)
    link = db.session.get(SsoLink, link_id)
    if link is None or link.user_id != user_id:
        raise NotFound(LINK_NOT_FOUND)
    user = db.session.get(User, user_id)
    data = {
        "user_id": user_id,
        "email": user.email,
        "issuer": link.issuer,
        "subject": link.subject,
        "email_at_link": link.email_at_link,
    }
    audit.record(None, actor, "sso_unlinked", data=data)
    db.session.delete(link)
    db.session.commit()
    return link
