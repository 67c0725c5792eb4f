"""Single sign-on account links: which identity at which OpenID provider is which user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db_setup import UTCDateTime
from tracker.models.base import Model, created_at_column
from tracker.models.user import User


class SsoLink(Model):
    """One identity (issuer + subject) linked to one user (docs/adr/0197).

    The subject is the provider's stable, never-reassigned id for the person; the email
    is only used to make the first link and is kept to show which address it was made with.
    A user has at most one link per issuer."""

    __tablename__ = "sso_link"
    __table_args__ = (
        UniqueConstraint("issuer", "subject"),
        UniqueConstraint("user_id", "issuer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    email_at_link: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = created_at_column()
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
