"""Demo data the provider record and the hiring evaluation need beyond the rest of the demo:
a staff change, and the evaluation opened on the engagement past twelve months.

On Northwind's trial pod one ML engineer left after three weeks and was replaced: the
leaver's access was listed, revoked and verified by a second person, and the replacement
joined the next day. The record counts it as one external member replaced mid-engagement.
Quanta's fractional ML lead has been on "ML platform leadership" for over a year (the
seed's dates): the scheduler's `hiring` step opens its owner's "Evaluate hiring" item, as a
tick would.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AccessEntry, Engagement, TeamMember, User
from tracker.services.portfolio import hiring

POD = "Demand forecasting pod"
REPLACEMENT = "Ola Berg"


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def seed(today: date) -> None:
    """Add the leaver and move the replacement's start, then open the hiring evaluations
    due (the scheduler step itself, which commits)."""
    _staff_change()
    db.session.flush()
    hiring.open_due_evaluations(_at(today, 12))


def _staff_change() -> None:
    pod = db.session.scalar(select(Engagement).where(Engagement.title == POD))
    manager = db.session.scalar(select(User).where(User.email == "manager@example.com"))
    verifier = db.session.scalar(select(User).where(User.email == "manager2@example.com"))
    if pod is None or pod.trial_start is None or manager is None or verifier is None:
        return
    left = pod.trial_start + timedelta(days=18)
    leaver = TeamMember(
        engagement_id=pod.id,
        name="Petra Lind",
        role="ml_engineer",
        is_external=True,
        allocation=100,
        areas=["forecast model"],  # handed over to her replacement when she left
        start_date=pod.trial_start,
        end_date=left,
    )
    db.session.add(leaver)
    db.session.flush()
    db.session.add(
        AccessEntry(
            engagement_id=pod.id,
            member_id=leaver.id,
            system="GitHub org acme-ml",
            kind="code_repository",
            account="petra.lind-ext",
            granted_on=pod.trial_start,
            granted_by_id=manager.id,
            revoked_at=_at(left, 17),
            revoked_by_id=manager.id,
            revoke_note="Removed from the org on her last day.",
            verified_at=_at(left + timedelta(days=1), 9),
            verified_by_id=verifier.id,
            verify_how="Checked the GitHub org members list.",
        )
    )
    replacement = db.session.scalar(
        select(TeamMember).where(TeamMember.engagement_id == pod.id, TeamMember.name == REPLACEMENT)
    )
    if replacement is not None:
        replacement.start_date = left + timedelta(days=1)
