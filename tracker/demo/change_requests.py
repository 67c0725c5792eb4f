"""Demo change requests (issue 31): a trial whose scope moved, through requests.

"Demand forecasting pod" (day 40 of its trial): Priya (Northwind) asked to move the Day-60
milestone by two weeks because the labelled history arrived late; Dana, the owner,
approved it. Priya's second request, cutting Kenji's allocation, waits five days for a
decision (the digest lists it). "LLM support assistant" (day 83): two approved requests
slipped the Day-90 milestone and the trial's end with it 25 days in total, past the
21-day drift rule, so its health is Amber naming them (and the milestone still falls on
the trial's last day, as a Day-90 milestone does).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement, Milestone, TeamMember, User
from tracker.services.change_requests import service

FORECASTING = "Demand forecasting pod"
ASSISTANT = "LLM support assistant"


def _one(model, *where):
    return db.session.scalar(select(model).where(*where))


def _move(milestone: Milestone, days: int) -> dict:
    to = milestone.due_date + timedelta(days=days)
    return {"target": "milestone", "id": milestone.id, "field": "due_date", "to": to.isoformat()}


def _extend(engagement: Engagement, days: int) -> dict:
    """The running period's end, `days` later (a trial's end in a trial)."""
    to = engagement.trial_end + timedelta(days=days)
    return {"target": "engagement", "field": "period_end", "to": to.isoformat()}


def seed(today: date) -> None:
    """Raise and decide the demo requests through the service (as people would)."""
    forecasting = _one(Engagement, Engagement.title == FORECASTING)
    assistant = _one(Engagement, Engagement.title == ASSISTANT)
    if forecasting is None or assistant is None:
        return
    priya = _one(User, User.email == "priya@northwind.example")
    leo = _one(User, User.email == "leo@quanta.example")
    dana = _one(User, User.email == "manager@example.com")
    sam = _one(User, User.email == "manager2@example.com")
    day60 = _one(
        Milestone, Milestone.engagement_id == forecasting.id, Milestone.title == "Day-60 milestone"
    )
    moved = service.raise_request(
        priya,
        forecasting.id,
        {
            "changes": [_move(day60, 14)],
            "why": "Two years of labelled order history arrived three weeks late.",
            "value": "The forecast is judged on the full history, not a partial one.",
            "cost_delta_monthly": 0,
            "evidence_url": "https://tickets.example.com/DATA-412",
        },
    )
    service.approve(dana, moved.id)
    kenji = _one(
        TeamMember, TeamMember.engagement_id == forecasting.id, TeamMember.name == "Kenji Sato"
    )
    waiting = service.raise_request(
        priya,
        forecasting.id,
        {
            "changes": [{"target": "team_member", "id": kenji.id, "field": "allocation", "to": 60}],
            "why": "The ingestion jobs are stable; Kenji can move to 60% for the rest of it.",
            "value": "Lower monthly cost with the same coverage of the ingestion jobs.",
            "cost_delta_monthly": -3200,
        },
    )
    waiting.created_at = clock.now() - timedelta(days=5)
    day90 = _one(
        Milestone, Milestone.engagement_id == assistant.id, Milestone.title == "Day-90 milestone"
    )
    for days, why in (
        (10, "The support-ticket export was blocked by a security review."),
        (15, "Two new intents were added to the assistant's scope."),
    ):
        request = service.raise_request(
            leo,
            assistant.id,
            {
                "changes": [_move(day90, days), _extend(assistant, days)],
                "why": why,
                "cost_delta_monthly": 900,
            },
        )
        service.approve(sam, request.id)
        db.session.refresh(day90)
        db.session.refresh(assistant)
    db.session.commit()
