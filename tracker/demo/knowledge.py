"""Demo knowledge-retention data: ADRs (one superseded), shadows with sessions, runbooks."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tracker.core import clock
from tracker.extensions import db
from tracker.models import (
    Adr,
    Artifact,
    Engagement,
    ShadowAssignment,
    ShadowSession,
    TeamMember,
    User,
)
from tracker.services.delivery import checklists
from tracker.services.knowledge.adrs import record_revision

# engagement title -> (ADRs as (title, status, supersedes number), shadows signed off?, runbook?)
PLAN = {
    "Churn model handover": (
        [
            ("Serve the churn model from the feature store", "superseded", None),
            ("Serve the churn model behind the online API", "accepted", 1),
            ("Retrain monthly with drift checks", "proposed", None),
        ],
        "first",
        False,
    ),
    "Search ranking uplift": ([("Use learning-to-rank", "accepted", None)], "", False),
    "Recommendations pilot": ([("Two-tower retrieval model", "accepted", None)], "all", True),
}


def seed(today: date) -> None:
    """Add the knowledge-retention demo rows (no commit: the demo seeder commits)."""
    internal = db.session.scalar(select(User).where(User.email == "engineer@example.com"))
    for title, (adr_rows, signed, runbook) in PLAN.items():
        engagement = db.session.scalar(select(Engagement).where(Engagement.title == title))
        if engagement is None or internal is None:
            continue
        _adrs(engagement, adr_rows, today)
        _shadows(engagement, internal, signed, today)
        _artifacts(engagement, runbook)
        db.session.flush()
        checklists.sync_bound_items(engagement)  # KT items bound to artifacts follow them


def _adrs(engagement: Engagement, rows, today: date) -> None:
    by_number: dict[int, Adr] = {}
    for number, (title, status, supersedes) in enumerate(rows, start=1):
        adr = Adr(
            engagement_id=engagement.id,
            number=number,
            title=title,
            status=status,
            decided_on=today - timedelta(days=40 - 10 * number),
            deciders=engagement.owner.name,
            author_id=engagement.owner_id,
            context=f"**{engagement.title}** needs a decision on this.\n\n- cost\n- latency",
            decision=f"We will: {title.lower()}.",
            consequences="Runbooks are updated; the on-call rota learns the new path.",
            supersedes=by_number.get(supersedes),
        )
        db.session.add(adr)
        by_number[number] = adr
        db.session.flush()
        record_revision(adr, None, "created")


def _shadows(engagement: Engagement, internal: User, signed: str, today: date) -> None:
    members = db.session.scalars(
        select(TeamMember).where(TeamMember.engagement_id == engagement.id, TeamMember.is_external)
    ).all()
    if internal not in engagement.followers:  # the shadow must see what they learn
        engagement.followers.append(internal)
    for index, member in enumerate(members):
        is_signed = signed == "all" or (signed == "first" and index == 0)
        assignment = ShadowAssignment(
            engagement_id=engagement.id,
            member_id=member.id,
            shadow_id=internal.id,
            areas=list(member.areas),
            start_date=today - timedelta(days=30),
            confidence=4 if is_signed else 2,
            signed_off_by_id=engagement.owner_id if is_signed else None,
            signed_off_at=clock.now() - timedelta(days=2) if is_signed else None,
        )
        for week in range(3):
            assignment.sessions.append(
                ShadowSession(
                    held_on=today - timedelta(days=21 - 7 * week),
                    duration_minutes=60 + 15 * week,
                    topic=f"{', '.join(member.areas)}: walkthrough {week + 1}",
                    notes="Paired on the deployment and the alerts.",
                )
            )
        db.session.add(assignment)


def _artifacts(engagement: Engagement, runbook: bool) -> None:
    links = [("architecture_overview", "Architecture overview", "architecture")]
    if runbook:  # the closed engagement handed everything over, recordings included
        links.append(("runbook", "On-call runbook", "runbook"))
        links.append(("recording", "Walkthrough recordings", "recordings"))
    for kind, title, slug in links:
        db.session.add(
            Artifact(
                engagement_id=engagement.id,
                kind=kind,
                title=title,
                url=f"https://wiki.example.com/{engagement.id}/{slug}",
                owner_id=engagement.owner_id,
                data={"added_by": engagement.owner_id, "description": ""},
            )
        )
