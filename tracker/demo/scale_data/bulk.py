"""Bulk INSERTs of generated plans: parents first, ids back in order, children after."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from tracker.demo.scale_data.plans import Plan
from tracker.extensions import db
from tracker.models import (
    Adr,
    AdrRevision,
    AuditEvent,
    ChecklistItem,
    Engagement,
    Milestone,
    MilestoneUpdate,
    ShadowAssignment,
    ShadowSession,
    TeamMember,
    engagement_follower,
)


def _insert_returning(model, rows: list[dict]) -> list[int]:
    """Insert many rows and get their ids back in the order given.

    SQLite cannot promise RETURNING's order for a multi-row INSERT, so SQLAlchemy sends
    such an INSERT one row at a time there (two thirds of a 2,500-engagement load). The
    ids are given instead: SQLite gives a rowid table without AUTOINCREMENT max(id) + 1,
    so the rows get the ids it would have chosen, in an executemany per set of columns
    (Core: the ORM's bulk INSERT still sent these one by one). A writer slipping in
    between the read and the INSERT makes the INSERT fail (a busy snapshot or a duplicate
    key), never gives a row another's id. PostgreSQL batches the ordered RETURNING itself
    (and its sequences must hand out the ids).
    """
    if not rows:
        return []
    if db.session.get_bind().dialect.name == "sqlite":
        first = (db.session.scalar(select(func.max(model.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
        by_columns: dict[frozenset, list[dict]] = {}
        for row, i in zip(rows, ids, strict=True):
            by_columns.setdefault(frozenset(row), []).append(dict(row, id=i))
        for same_columns in by_columns.values():
            db.session.execute(insert(model.__table__), same_columns)
        return ids
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


def insert_plans(plans: list[Plan]) -> None:
    ids = _insert_returning(Engagement, [p.row for p in plans])
    member_rows = [
        dict(m, engagement_id=e) for p, e in zip(plans, ids, strict=True) for m in p.members
    ]
    member_ids = iter(_insert_returning(TeamMember, member_rows))
    members = [[next(member_ids) for _ in p.members] for p in plans]
    _insert_milestones(plans, ids)
    _bulk(
        ChecklistItem,
        [dict(c, engagement_id=e) for p, e in zip(plans, ids, strict=True) for c in p.checklist],
    )
    _bulk(
        AuditEvent,
        [dict(a, engagement_id=e) for p, e in zip(plans, ids, strict=True) for a in p.audit],
    )
    followers = [
        {"engagement_id": e, "user_id": u}
        for p, e in zip(plans, ids, strict=True)
        for u in p.followers
    ]
    _bulk(engagement_follower, followers)
    adr_rows = [dict(a, engagement_id=e) for p, e in zip(plans, ids, strict=True) for a in p.adrs]
    revisions = [
        {"adr_id": adr_id, "author_id": row["author_id"], "change": "created", "snapshot": {}}
        for adr_id, row in zip(_insert_returning(Adr, adr_rows), adr_rows, strict=True)
    ]
    _bulk(AdrRevision, revisions)
    _insert_shadows(plans, ids, members)


def _insert_milestones(plans: list[Plan], ids: list[int]) -> None:
    pairs = [
        (dict(m, engagement_id=e), u)
        for p, e in zip(plans, ids, strict=True)
        for m, u in p.milestones
    ]
    milestone_ids = _insert_returning(Milestone, [m for m, _ in pairs])
    _bulk(
        MilestoneUpdate,
        [
            dict(u, milestone_id=mid)
            for mid, (_, ups) in zip(milestone_ids, pairs, strict=True)
            for u in ups
        ],
    )


def _insert_shadows(plans: list[Plan], ids: list[int], members: list[list[int]]) -> None:
    pairs = [
        (dict(row, engagement_id=e, member_id=member_ids[index]), sessions)
        for p, e, member_ids in zip(plans, ids, members, strict=True)
        for index, row, sessions in p.shadows
    ]
    shadow_ids = _insert_returning(ShadowAssignment, [row for row, _ in pairs])
    _bulk(
        ShadowSession,
        [
            dict(s, assignment_id=sid)
            for sid, (_, ss) in zip(shadow_ids, pairs, strict=True)
            for s in ss
        ],
    )


def _bulk(target, rows: list[dict]) -> None:
    """Plain executemany INSERTs (no ids needed back)."""
    if rows:
        table = getattr(target, "__table__", target)
        db.session.execute(insert(table), rows)
