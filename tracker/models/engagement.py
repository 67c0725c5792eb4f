"""The engagement aggregate root, its team and its followers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Update,
    bindparam,
    case,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import BindParameter, ClauseElement

from tracker.core import clock
from tracker.db_setup import UTCDateTime
from tracker.models.base import (
    HEALTH_RANKS,
    UNKNOWN_HEALTH_RANK,
    Model,
    created_at_column,
    health_rank,
)
from tracker.models.user import ProviderOrganisation, User

engagement_follower = Table(
    "engagement_follower",
    Model.metadata,
    Column("engagement_id", ForeignKey("engagement.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Engagement(Model):
    """One provider's people embedded in the client's team for a bounded time."""

    __tablename__ = "engagement"
    __table_args__ = (
        Index("ix_engagement_state_health", "state", "effective_health", "id"),
        # Covers the dashboard's passes over every live engagement (count, by health,
        # health-ranked page) without touching the wide rows.
        Index("ix_engagement_live_health", "closed_at", "effective_health", "id"),
        # The health-ranked first page (the dashboard's default): live engagements, or one
        # state's, worst health first, read in index order up to the LIMIT (ADR 0239).
        Index("ix_engagement_live_rank", "closed_at", "health_rank", "id"),
        Index("ix_engagement_state_rank", "state", "health_rank", "id"),
        Index("ix_engagement_state_updated", "state", "updated_at", "id"),
        Index("ix_engagement_health_updated", "effective_health", "updated_at", "id"),
        # The scheduler's daily health refresh and override expiry (services.judgments.health).
        Index("ix_engagement_live_computed", "closed_at", "health_computed_at"),
        Index("ix_engagement_override_until", "health_override_until"),
        Index("ix_engagement_readiness_score", "readiness_score"),
        Index("ix_engagement_provider_state", "provider_id", "state"),
        Index("ix_engagement_owner_state", "owner_id", "state"),
        Index("ix_engagement_trial_end", "trial_end"),
        # The portfolio's range reads (services/portfolio/figures.py, docs/adr/0234): spend
        # by the trial's start and by the closing, trials by their start and their end,
        # each from the index alone.
        Index("ix_engagement_trial_span", "trial_start", "closed_at", "currency", "monthly_cost"),
        Index("ix_engagement_closing_span", "closed_at", "trial_start", "currency", "monthly_cost"),
        Index(
            "ix_engagement_trial_outcome",
            "trial_end",
            "trial_start",
            "current_period",
            "outcome",
            "state",
            "workflow_name",
            "workflow_version",
            "workflow_hash",
        ),  # fmt: skip
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider_organisation.id"))
    structure: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    technical_contact_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    problem_statement: Mapped[str] = mapped_column(Text, default="")
    success_criteria: Mapped[str] = mapped_column(Text, default="")
    internal_notes: Mapped[str] = mapped_column(Text, default="")

    discovery_start: Mapped[date | None]
    trial_start: Mapped[date | None]
    trial_end: Mapped[date | None]
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    current_period: Mapped[int] = mapped_column(default=0)
    monthly_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")

    # active_history on the three columns the counts are kept by (state, closed_at and
    # effective_health below): a flush knows the key an engagement leaves (docs/adr/0259).
    state: Mapped[str] = mapped_column(String(40), active_history=True)
    outcome: Mapped[str | None] = mapped_column(String(20))
    review_summary: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    workflow_name: Mapped[str] = mapped_column(String(100))
    workflow_version: Mapped[int]
    workflow_hash: Mapped[str] = mapped_column(String(64))
    # While on hold (a state whose phase is "paused"): where it paused from, when and why.
    paused_from_state: Mapped[str | None] = mapped_column(String(40))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pause_reason: Mapped[str | None] = mapped_column(Text)
    expected_resume: Mapped[date | None]
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last hold's end

    # Health is derived from the data and cached here so lists need no recomputation.
    health: Mapped[str] = mapped_column(String(10), default="green")
    health_reasons: Mapped[list] = mapped_column(JSON, default=list)
    health_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    health_override: Mapped[str | None] = mapped_column(String(10))
    health_override_note: Mapped[str | None] = mapped_column(Text)
    health_override_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    health_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    health_override_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What lists filter, count and sort by: the live override, else `health`. Kept in
    # step by the flush hook below and, as overrides expire, by the scheduler.
    # active_history: a flush knows the value it replaces, so the health history
    # (services.judgments.health_history) records only real changes.
    effective_health: Mapped[str] = mapped_column(
        String(10), default="green", server_default="green", active_history=True
    )
    # `models.base.health_rank(effective_health)`, what lists sort by "health": written
    # with the effective health on every path (the flush hook below, the set-based
    # `health.store_health`, an INSERT's default from the row's own effective health).
    health_rank: Mapped[int] = mapped_column(
        SmallInteger, default=lambda context: _rank_of_inserted(context), server_default="2"
    )
    # Knowledge-retention readiness cached for lists (services.judgments.readiness keeps it
    # current on every flush that touches its inputs); None until first computed.
    readiness_score: Mapped[int | None]
    readiness_gaps: Mapped[int | None]
    # Its breakdown, written with the score, so the dashboard draws each row's bar from
    # what is stored instead of recomputing it from five tables (docs/adr/0201).
    readiness_parts: Mapped[list | None] = mapped_column(JSON(none_as_null=True), deferred=True)

    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    provider: Mapped[ProviderOrganisation] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    technical_contact: Mapped[User | None] = relationship(foreign_keys=[technical_contact_id])
    health_override_by: Mapped[User | None] = relationship(foreign_keys=[health_override_by_id])
    members: Mapped[list[TeamMember]] = relationship(
        back_populates="engagement", cascade="all, delete-orphan", order_by="TeamMember.id"
    )
    followers: Mapped[list[User]] = relationship(secondary=engagement_follower)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def has_live_override(self, now: datetime | None = None) -> bool:
        """Whether a manager's health override is set and has not expired."""
        now = now or clock.now()
        return bool(self.health_override) and (
            self.health_override_until is None or self.health_override_until > now
        )

    def health_at(self, now: datetime | None = None) -> str:
        """The manager's override while it lasts, else the derived health."""
        return self.health_override if self.has_live_override(now) else self.health

    def __repr__(self) -> str:
        return f"<Engagement {self.id} {self.title!r} {self.state}>"


def store_effective_health(mapper, connection, engagement: Engagement) -> None:
    """Whatever changed the health or its override, the stored effective value follows.

    A before insert/update mapper listener, installed by tracker.services.derived.
    """
    engagement.effective_health = engagement.health_at() or "green"
    engagement.health_rank = health_rank(engagement.effective_health)


def rank_updated_health(orm_execute_state) -> None:
    """A set-based UPDATE of engagements (no flush: the hook above does not see it) that
    writes the effective health writes its rank too: SQL over the same new value when
    the statement carries it, the rank itself when each row's parameters do.

    A do_orm_execute listener, installed by tracker.services.derived.
    """
    statement = orm_execute_state.statement
    if not orm_execute_state.is_update or statement.table.name != Engagement.__tablename__:
        return
    given = {getattr(key, "key", key): value for key, value in (statement._values or {}).items()}
    if "effective_health" in given:
        if "health_rank" not in given:
            orm_execute_state.statement = statement.values(
                health_rank=_rank_of_value(given["effective_health"])
            )
        return
    params = orm_execute_state.parameters
    for row in [params] if isinstance(params, dict) else list(params or ()):
        if "effective_health" in row and "health_rank" not in row:
            row["health_rank"] = health_rank(row["effective_health"])


def _rank_of_value(value):
    """The rank of an UPDATE's new effective health: a literal's rank, else SQL over it
    (a parameter named for executemany is named again: one bind cannot be used twice)."""
    if isinstance(value, BindParameter):
        if value.unique or value.value is not None:
            return health_rank(value.value)
        value = bindparam(value.key, type_=String())
    elif not isinstance(value, ClauseElement):
        return health_rank(value)
    return case(HEALTH_RANKS, value=value, else_=UNKNOWN_HEALTH_RANK)


def _rank_of_inserted(context) -> int:
    """An INSERT that names no rank (a bulk load's rows) ranks the health it inserts."""
    return health_rank(context.get_current_parameters().get("effective_health") or "green")


def cached_values_update(**values) -> Update:
    """An UPDATE of derived, cached columns for the row bound as `row_id`, many at once.

    A plain UPDATE, not an ORM change, on purpose: a cache catching up must not bump
    the row's version (it would make an editor's ETag stale) nor its `updated_at`.
    """
    table = Engagement.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(**values, updated_at=table.c.updated_at)
    )


class TeamMember(Model):
    """A person on the engagement: an external engineer or an internal counterpart."""

    __tablename__ = "team_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagement.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(40))
    is_external: Mapped[bool] = mapped_column(default=True)
    allocation: Mapped[int] = mapped_column(default=100)  # percent of full time
    areas: Mapped[list] = mapped_column(JSON, default=list)  # systems/components they own
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]

    engagement: Mapped[Engagement] = relationship(back_populates="members")
    user: Mapped[User | None] = relationship()

    def has_left(self, today: date) -> bool:
        """Whether their end date has passed: on their last day they are still on it."""
        return self.end_date is not None and self.end_date < today
