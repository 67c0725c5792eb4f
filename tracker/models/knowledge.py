"""Knowledge retention: ADRs, shadow assignments with sessions, and artifacts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core import clock
from tracker.db_setup import UTCDateTime
from tracker.models.base import Model, created_at_column
from tracker.models.engagement import Engagement, TeamMember
from tracker.models.user import User


class Adr(Model):
    """An architecture decision record, numbered per engagement."""

    __tablename__ = "adr"
    __table_args__ = (UniqueConstraint("engagement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagement.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    decided_on: Mapped[date]
    deciders: Mapped[str] = mapped_column(String(500), default="")
    context: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(Text, default="")
    consequences: Mapped[str] = mapped_column(Text, default="")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("adr.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    engagement: Mapped[Engagement] = relationship()
    author: Mapped[User | None] = relationship()
    supersedes: Mapped[Adr | None] = relationship(
        remote_side=[id], back_populates="superseded_by", foreign_keys=[supersedes_id]
    )
    superseded_by: Mapped[list[Adr]] = relationship(back_populates="supersedes")
    revisions: Mapped[list[AdrRevision]] = relationship(
        back_populates="adr", cascade="all, delete-orphan", order_by="AdrRevision.id"
    )


class AdrRevision(Model):
    """A snapshot of an ADR after each change: its full history."""

    __tablename__ = "adr_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    adr_id: Mapped[int] = mapped_column(ForeignKey("adr.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    change: Mapped[str] = mapped_column(String(40))  # created, edited, accepted, superseded …
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = created_at_column()

    adr: Mapped[Adr] = relationship(back_populates="revisions")
    author: Mapped[User | None] = relationship()


class ShadowAssignment(Model):
    """An internal engineer shadowing an external member on named areas."""

    __tablename__ = "shadow_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagement.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("team_member.id", ondelete="CASCADE"))
    shadow_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    areas: Mapped[list] = mapped_column(JSON, default=list)
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    confidence: Mapped[int | None]  # 1–5, the shadow's own rating
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    engagement: Mapped[Engagement] = relationship()
    member: Mapped[TeamMember] = relationship()
    shadow: Mapped[User] = relationship(foreign_keys=[shadow_id])
    signed_off_by: Mapped[User | None] = relationship(foreign_keys=[signed_off_by_id])
    sessions: Mapped[list[ShadowSession]] = relationship(
        back_populates="assignment", cascade="all, delete-orphan", order_by="ShadowSession.held_on"
    )

    @property
    def is_signed_off(self) -> bool:
        return self.signed_off_at is not None


class ShadowSession(Model):
    """A logged pairing session between the shadow and the external member."""

    __tablename__ = "shadow_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("shadow_assignment.id", ondelete="CASCADE"), index=True
    )
    held_on: Mapped[date]
    duration_minutes: Mapped[int]
    topic: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()

    assignment: Mapped[ShadowAssignment] = relationship(back_populates="sessions")


class Artifact(Model):
    """A link to a runbook, an architecture overview, a recording …"""

    __tablename__ = "artifact"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagement.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(1000))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = created_at_column()
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    owner: Mapped[User | None] = relationship()
