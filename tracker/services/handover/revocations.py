"""The revocation a leaving member's access needs: a knowledge-transfer item due on their end date.

One item per team member who has an end date and access entries, owned by the
engagement's owner. It is done exactly while every entry of that member is revoked, so
the checklist reminders remind the owner on the end date and then while it is overdue,
the owner's calendar feed shows it on that day, and ticking it by hand is refused.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import (
    AccessEntry,
    ChecklistItem,
    ChecklistKind,
    ChecklistStatus,
    Engagement,
    TeamMember,
)

KEY_PREFIX = "revoke_access:"


def is_revocation_item(item: ChecklistItem) -> bool:
    """Whether the item is a member's revocation (done from the register, never by hand)."""
    return bool(item.key and item.key.startswith(KEY_PREFIX))


def sync_revocation_items(engagement: Engagement, now: datetime) -> None:
    """Add, date and complete the revocation items from the register (no commit)."""
    if engagement.is_closed:
        return
    members = db.session.scalars(
        select(TeamMember).where(TeamMember.engagement_id == engagement.id)
    ).all()
    open_systems: dict[int, list[str]] = defaultdict(list)
    listed: set[int] = set()
    for member_id, system, revoked_at in db.session.execute(
        select(AccessEntry.member_id, AccessEntry.system, AccessEntry.revoked_at)
        .where(AccessEntry.engagement_id == engagement.id)
        .order_by(AccessEntry.id)
    ):
        listed.add(member_id)
        if revoked_at is None:
            open_systems[member_id].append(system)
    items = {
        item.key: item
        for item in db.session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.engagement_id == engagement.id,
                ChecklistItem.key.startswith(KEY_PREFIX),
            )
        )
    }
    for member in members:
        item = items.get(f"{KEY_PREFIX}{member.id}")
        if item is None and (member.end_date is None or member.id not in listed):
            continue
        item = item or _new_item(engagement, member)
        _follow(item, member, open_systems.get(member.id, []), now)


def _new_item(engagement: Engagement, member: TeamMember) -> ChecklistItem:
    item = ChecklistItem(
        engagement_id=engagement.id,
        kind=ChecklistKind.KNOWLEDGE_TRANSFER,
        key=f"{KEY_PREFIX}{member.id}",
        title=f"Revoke {member.name}'s access",
        owner_id=engagement.owner_id,
        status=ChecklistStatus.OPEN,
        position=1000 + member.id,  # after the standard items
    )
    db.session.add(item)
    return item


def _follow(item: ChecklistItem, member: TeamMember, open_systems: list[str], now) -> None:
    title = f"Revoke {member.name}'s access"
    if open_systems:
        title += f" ({', '.join(open_systems)})"
    item.title = title[:200]
    item.due_date = member.end_date
    done = not open_systems
    if done and item.status != ChecklistStatus.DONE:
        item.status, item.completed_at, item.completed_by_id = ChecklistStatus.DONE, now, None
    elif not done and item.status != ChecklistStatus.OPEN:
        item.status, item.completed_at, item.completed_by_id = ChecklistStatus.OPEN, None, None
