"""Rows the scale generator does not make, added through the real services.

Artifacts owned by stakeholders, ADR edits by two people (revisions with different authors), ADRs
superseding older ones, digest subscriptions (the manager's and stakeholders'),
API tokens, outbox emails and change requests (one raised and one approved per
running trial or extension): `add_rows(..., rounds=k)` adds k more of each,
so a second call grows every list a page or endpoint shows, not only the
engagements.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Adr, User
from tracker.services.administration import users as user_service
from tracker.services.knowledge import adrs, artifacts
from tracker.services.messaging import outbox, subscriptions


@dataclass(frozen=True)
class Extras:
    """Who adds the rows (a manager; an admin edits too), and under which engagements."""

    manager_email: str
    admin_email: str
    engagement_ids: list[int]


def add_rows(app, extras: Extras, *, rounds: int) -> None:
    """Add `rounds` more artifacts, ADR edits and supersedes, subscriptions, tokens, emails."""
    with app.app_context():
        editors = [
            db.session.scalar(select(User).where(User.email == email))
            for email in (extras.manager_email, extras.admin_email)
        ]
        for _ in range(rounds):
            _add_round(editors, extras.engagement_ids)
        db.session.remove()


def _add_round(editors: list[User], engagement_ids: list[int]) -> None:
    manager = editors[0]
    done = len(user_service.list_tokens(manager))
    user_service.create_token(manager, f"perf extra {done}")
    for engagement_id in engagement_ids:
        owner = _stakeholder(done + engagement_id)  # owners other than the reader
        data = {
            "kind": "runbook",
            "title": f"Runbook {done}",
            "url": f"https://wiki.example/{done}",
        }
        artifacts.add_artifact(manager, engagement_id, data | {"owner_id": owner.id})
    _edit_adrs(editors, engagement_ids[::2], done)
    for engagement_id in engagement_ids[1::2]:
        _supersede_latest(manager, engagement_id, done)
    _subscribe(manager, engagement_ids, done)
    _change_requests(editors, engagement_ids, done)
    outbox.enqueue(f"perf-{done}", manager, f"Reminder {done}", "Text body.", "<p>HTML body.</p>")
    db.session.commit()


def _change_requests(editors: list[User], engagement_ids: list[int], done: int) -> None:
    """Per engagement whose state contracts milestone dates: a request moving its first
    milestone, approved by the admin, and one left waiting."""
    from datetime import timedelta

    from tracker.models import Engagement, Milestone
    from tracker.services.change_requests import service

    manager, admin = editors
    for engagement_id in engagement_ids:
        engagement = db.session.get(Engagement, engagement_id)
        if not service.state_contracts_anything(engagement) or engagement.is_closed:
            continue
        milestone = db.session.scalar(
            select(Milestone)
            .where(Milestone.engagement_id == engagement_id, Milestone.removed_at.is_(None))
            .order_by(Milestone.id)
        )
        if milestone is None:
            continue
        for approve in (True, False):
            to = milestone.due_date + timedelta(days=1 + done % 3)
            change = {"target": "milestone", "id": milestone.id, "field": "due_date"}
            body = {"changes": [change | {"to": to.isoformat()}], "why": f"perf {done}"}
            request = service.raise_request(manager, engagement_id, body)
            if approve:
                service.approve(admin, request.id)
                db.session.refresh(milestone)


def _edit_adrs(editors: list[User], engagement_ids: list[int], done: int) -> None:
    found = db.session.scalars(select(Adr.id).where(Adr.engagement_id.in_(engagement_ids))).all()
    for editor in editors:
        for adr_id in found:
            adrs.update_adr(editor, adr_id, {"consequences": f"Revised by {editor.id} ({done})."})


def _supersede_latest(manager: User, engagement_id: int, done: int) -> None:
    latest = db.session.scalar(
        select(Adr.id)
        .where(Adr.engagement_id == engagement_id, Adr.status == "accepted")
        .order_by(Adr.number.desc())
    )
    if latest is not None:
        data = {"title": f"Revisit ({done})", "status": "accepted", "supersedes_id": latest}
        adrs.create_adr(manager, engagement_id, data)


def _subscribe(manager: User, engagement_ids: list[int], done: int) -> None:
    """One subscription for the manager and one for the next stakeholder, each a bigger choice."""
    stakeholder = _stakeholder(done)
    chosen = engagement_ids[: 1 + done % len(engagement_ids)]
    for subscriber in (manager, stakeholder):
        data = {"user_id": subscriber.id, "scope": "chosen", "engagement_ids": chosen}
        subscriptions.create_subscription(manager, data | {"frequency": "daily"})


def _stakeholder(n: int) -> User:
    """The n-th stakeholder (the generator makes hundreds)."""
    return db.session.scalar(
        select(User).where(User.role == "stakeholder").order_by(User.id).offset(n)
    )
