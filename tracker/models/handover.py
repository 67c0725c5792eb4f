"""The proof that a handover happened: walk-away drills, the access register, exit confirmations.

A drill is an internal engineer doing one real task of a shadowed area alone (retrain,
deploy, roll back, rotate a key) while the external member keeps their hands off. An
access entry is one system a team member could reach, revoked by one person and verified
by another. The exit confirmation is one row per engagement with what the client must
have in hand before the close: the IP assignment, the data returned or deleted, where the
repositories and model artifacts went.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core import clock
from tracker.db_setup import UTCDateTime
from tracker.models.base import Model, created_at_column
from tracker.models.checklist import ChecklistItem
from tracker.models.engagement import Engagement, TeamMember
from tracker.models.knowledge import ShadowAssignment
from tracker.models.user import User


class DrillOutcome(StrEnum):
    """How the engineer fared alone: only `passed` counts as proof."""

    PASSED = "passed"
    PARTLY = "partly"
    FAILED = "failed"


class AccessKind(StrEnum):
    """What sort of system an access entry is to (the API's `kind` values)."""

    CODE_REPOSITORY = "code_repository"
    CLOUD_ACCOUNT = "cloud_account"
    DATA_STORE = "data_store"
    CHAT = "chat"
    TICKETING = "ticketing"
    SECRETS = "secrets"
    VPN = "vpn"
    OTHER = "other"


class DataDisposition(StrEnum):
    """What happened to the client's data at the exit."""

    RETURNED = "returned"
    DELETED = "deleted"


class Drill(Model):
    """An internal engineer doing a real task of one area alone, and how it went."""

    __tablename__ = "drill"
    __table_args__ = (Index("ix_drill_engagement_area", "engagement_id", "area"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    shadow_id: Mapped[int] = mapped_column(
        ForeignKey("shadow_assignment.id", ondelete="CASCADE"), index=True
    )
    area: Mapped[str] = mapped_column(String(100))
    task: Mapped[str] = mapped_column(String(200))
    performed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    observed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    performed_on: Mapped[date]
    outcome: Mapped[str] = mapped_column(String(10))
    minutes: Mapped[int | None]
    missing: Mapped[str] = mapped_column(Text, default="")
    evidence_url: Mapped[str] = mapped_column(String(500), default="")
    # The knowledge-transfer item a failed or partial drill opened (None when it passed).
    follow_up_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("checklist_item.id", ondelete="SET NULL")
    )
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()

    engagement: Mapped[Engagement] = relationship()
    shadow: Mapped[ShadowAssignment] = relationship()
    performed_by: Mapped[User] = relationship(foreign_keys=[performed_by_id])
    observed_by: Mapped[User | None] = relationship(foreign_keys=[observed_by_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    follow_up_item: Mapped[ChecklistItem | None] = relationship()
    comments: Mapped[list[DrillComment]] = relationship(
        back_populates="drill", cascade="all, delete-orphan", order_by="DrillComment.id"
    )


class DrillComment(Model):
    """A remark on a drill; the provider's side comments, it does not record outcomes."""

    __tablename__ = "drill_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()

    drill: Mapped[Drill] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()


class AccessEntry(Model):
    """One system a team member was given access to, and its revocation and verification."""

    __tablename__ = "access_entry"
    __table_args__ = (Index("ix_access_entry_engagement_member", "engagement_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("team_member.id", ondelete="CASCADE"))
    system: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(String(200), default="")
    granted_on: Mapped[date | None]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoke_note: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verify_how: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    engagement: Mapped[Engagement] = relationship()
    member: Mapped[TeamMember] = relationship()
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class ExitConfirmation(Model):
    """What the client holds at the exit: IP assigned, data returned or deleted, artifacts moved."""

    __tablename__ = "exit_confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagement.id", ondelete="CASCADE"), unique=True
    )
    ip_assignment_confirmed_on: Mapped[date | None]
    ip_document_url: Mapped[str] = mapped_column(String(500), default="")
    ip_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    data_disposition: Mapped[str | None] = mapped_column(String(10))
    data_confirmed_on: Mapped[date | None]
    data_certificate_url: Mapped[str] = mapped_column(String(500), default="")
    data_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    artifacts_transferred_to: Mapped[str] = mapped_column(String(500), default="")
    artifacts_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    engagement: Mapped[Engagement] = relationship()
    ip_confirmed_by: Mapped[User | None] = relationship(foreign_keys=[ip_confirmed_by_id])
    data_confirmed_by: Mapped[User | None] = relationship(foreign_keys=[data_confirmed_by_id])
    artifacts_confirmed_by: Mapped[User | None] = relationship(
        foreign_keys=[artifacts_confirmed_by_id]
    )
