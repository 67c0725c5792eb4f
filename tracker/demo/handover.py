"""Demo handover proof: access registers, walk-away drills and exit confirmations.

Every engagement past discovery has its external members' access listed (the placement
item "Access register complete" follows it). The knowledge-transfer engagement shows a
handover under way: two passed drills and a failed one with its follow-up item, half of
its access revoked, the exit partly confirmed. The closed engagement has everything
proven: a passed drill per area, every access revoked by one person and verified by
another, the exit confirmed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import (
    AccessEntry,
    Drill,
    Engagement,
    ExitConfirmation,
    ShadowAssignment,
    TeamMember,
    User,
)
from tracker.services.delivery import checklists
from tracker.services.handover.drills import open_follow_up

HANDOVER = "Churn model handover"
CLOSED = "Recommendations pilot"
# Per member: (system, kind, account pattern)
SYSTEMS = [
    ("GitHub org acme-ml", "code_repository", "{slug}-ext"),
    ("AWS account ml-prod", "cloud_account", "role/{slug}-contractor"),
]


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def seed(today: date) -> None:
    """Add the handover demo rows (no commit: the demo seeder commits)."""
    manager, manager2 = _user("manager@example.com"), _user("manager2@example.com")
    engineer = _user("engineer@example.com")
    if manager is None or manager2 is None or engineer is None:
        return
    for engagement in db.session.scalars(select(Engagement).order_by(Engagement.id)):
        if engagement.trial_start is None:  # still scoping: the register is not written yet
            continue
        _register(engagement, engagement.trial_start)
    db.session.flush()
    handover = db.session.scalar(select(Engagement).where(Engagement.title == HANDOVER))
    closed = db.session.scalar(select(Engagement).where(Engagement.title == CLOSED))
    if handover is not None:
        _handover_under_way(handover, engineer, manager, manager2, today)
    if closed is not None:
        _handover_done(closed, engineer, manager, manager2, today)
    db.session.flush()
    for engagement in db.session.scalars(select(Engagement).order_by(Engagement.id)):
        checklists.sync_bound_items(engagement)


def _register(engagement: Engagement, granted_on: date) -> None:
    members = db.session.scalars(
        select(TeamMember).where(TeamMember.engagement_id == engagement.id, TeamMember.is_external)
    ).all()
    for member in members:
        slug = member.name.lower().replace(" ", ".")
        for system, kind, account in SYSTEMS:
            db.session.add(
                AccessEntry(
                    engagement_id=engagement.id,
                    member_id=member.id,
                    system=system,
                    kind=kind,
                    account=account.format(slug=slug),
                    granted_on=granted_on,
                    granted_by_id=engagement.owner_id,
                )
            )


def _entries(engagement: Engagement) -> list[AccessEntry]:
    query = select(AccessEntry).where(AccessEntry.engagement_id == engagement.id)
    return list(db.session.scalars(query.order_by(AccessEntry.id)))


def _assignments(engagement: Engagement) -> list[ShadowAssignment]:
    query = select(ShadowAssignment).where(ShadowAssignment.engagement_id == engagement.id)
    return list(db.session.scalars(query.order_by(ShadowAssignment.id)))


def _drill(assignment, area, task, engineer, observer, day, outcome, missing="") -> Drill:
    drill = Drill(
        engagement_id=assignment.engagement_id,
        shadow_id=assignment.id,
        area=area,
        task=task,
        performed_by_id=engineer.id,
        observed_by_id=observer.id,
        performed_on=day,
        outcome=outcome,
        minutes=45 if outcome == "passed" else 120,
        missing=missing,
        evidence_url=f"https://wiki.example.com/drills/{assignment.id}-{area.replace(' ', '-')}",
        recorded_by_id=observer.id,
    )
    db.session.add(drill)
    return drill


def _revoke(entry: AccessEntry, by: User, day: date, verifier: User | None) -> None:
    entry.revoked_at, entry.revoked_by_id = _at(day), by.id
    entry.revoke_note = "Removed from the org and the role deleted."
    if verifier is not None:
        entry.verified_at, entry.verified_by_id = _at(day, 15), verifier.id
        entry.verify_how = "Checked the GitHub org members list and the IAM roles."


def _handover_under_way(engagement, engineer, manager, manager2, today: date) -> None:
    """Two passed drills, one failed with its follow-up; half the access revoked."""
    assignments = _assignments(engagement)
    if len(assignments) < 2:
        return
    mara, tom = assignments[0], assignments[1]
    _drill(
        mara,
        "feature store",
        "Backfill a feature alone",
        engineer,
        manager,
        today - timedelta(days=10),
        "passed",
    )
    _drill(
        tom,
        "model serving",
        "Roll back the model alone",
        engineer,
        manager,
        today - timedelta(days=6),
        "passed",
    )
    failed = _drill(
        mara,
        "training pipeline",
        "Retrain the churn model alone",
        engineer,
        manager,
        today - timedelta(days=3),
        "failed",
        missing="The retraining job needs a secret only Mara's account could read.",
    )
    db.session.flush()
    failed.follow_up_item = open_follow_up(engagement, mara, failed, today)
    entries = _entries(engagement)
    for index, entry in enumerate(entries[: len(entries) // 2]):
        _revoke(entry, manager, today - timedelta(days=2), manager2 if index == 0 else None)
    db.session.add(
        ExitConfirmation(
            engagement_id=engagement.id,
            ip_assignment_confirmed_on=today - timedelta(days=20),
            ip_document_url="https://docs.example.com/churn/ip-assignment.pdf",
            ip_confirmed_by_id=manager.id,
        )
    )


def _handover_done(engagement, engineer, manager, manager2, today: date) -> None:
    """Every area drilled and passed, every access revoked and verified, the exit confirmed."""
    closed_on = (engagement.closed_at or _at(today)).date()
    for assignment in _assignments(engagement):
        for area in assignment.areas:
            day = closed_on - timedelta(days=8)
            _drill(
                assignment, area, f"Run {area} alone for a week", engineer, manager2, day, "passed"
            )
    for entry in _entries(engagement):
        _revoke(entry, manager2, closed_on - timedelta(days=5), manager)
    db.session.add(
        ExitConfirmation(
            engagement_id=engagement.id,
            ip_assignment_confirmed_on=closed_on - timedelta(days=12),
            ip_document_url="https://docs.example.com/recs/ip-assignment.pdf",
            ip_confirmed_by_id=manager2.id,
            data_disposition="deleted",
            data_confirmed_on=closed_on - timedelta(days=6),
            data_certificate_url="https://docs.example.com/recs/deletion-certificate.pdf",
            data_confirmed_by_id=manager2.id,
            artifacts_transferred_to="https://github.com/acme/recommendations and s3://acme-models/recs",
            artifacts_confirmed_by_id=manager2.id,
        )
    )
