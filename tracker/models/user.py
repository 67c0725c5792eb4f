"""People and organisations: users, provider organisations and personal API tokens."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db_setup import UTCDateTime
from tracker.models.base import Model, Role, created_at_column


class ProviderOrganisation(Model):
    """A company whose engineers are embedded in the client's teams."""

    __tablename__ = "provider_organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    website: Mapped[str | None] = mapped_column(String(300))
    # A deactivated organisation's people cannot sign in; its engagements stay readable.
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()

    users: Mapped[list[User]] = relationship(back_populates="provider")

    def __repr__(self) -> str:
        return f"<ProviderOrganisation {self.name!r}>"


def new_session_nonce() -> str:
    """A random value baked into the login session id; rotating it ends every session."""
    return secrets.token_hex(8)


class User(Model):
    """Someone who signs in: an admin, a manager, provider staff or a stakeholder."""

    __tablename__ = "user"
    __table_args__ = (Index("ix_user_role_provider", "role", "provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider_organisation.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    session_nonce: Mapped[str] = mapped_column(String(32), default=new_session_nonce)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    provider: Mapped[ProviderOrganisation | None] = relationship(back_populates="users")

    # Flask-Login protocol, spelled out instead of inheriting UserMixin so that
    # the session id carries the nonce (logout rotates it and kills old cookies).
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_provider(self) -> bool:
        return self.role == Role.PROVIDER

    @property
    def can_sign_in(self) -> bool:
        """Active, and not one of a deactivated provider organisation's people.

        Every credential checks this: the password form, the session and remember
        cookies (auth.load_user), API tokens and calendar feed URLs."""
        return self.is_active and (self.provider is None or self.provider.is_active)

    @property
    def status(self) -> str:
        """What the admin list shows: active, invited (no password yet and never signed in
        through single sign-on, which leaves no password) or why not."""
        if not self.is_active:
            return "deactivated"
        if self.provider is not None and not self.provider.is_active:
            return "organisation_deactivated"
        return "active" if self.password_hash or self.last_login_at else "invited"

    @property
    def can_export_audit(self) -> bool:
        """Admins and auditors take the deployment's whole audit trail away."""
        return self.role in (Role.ADMIN, Role.AUDITOR)

    @property
    def is_client_side(self) -> bool:
        """Admins and managers: the client organisation's people who run engagements."""
        return self.role in (Role.ADMIN, Role.MANAGER)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(Model):
    """A personal API token; only its SHA-256 is stored, the secret is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PasswordLink(Model):
    """A single-use, expiring link to set a password (an invitation or a reset).

    Only the SHA-256 of the URL secret is stored. A link is spent when used, revoked
    when a newer one is sent or the account is deactivated (docs/adr/0150)."""

    __tablename__ = "password_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))  # invite | reset
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
