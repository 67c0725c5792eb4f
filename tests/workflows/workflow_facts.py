"""Engagement facts and definition snippets shared by the workflow engine tests."""

from __future__ import annotations

from datetime import date

from workflows import (
    AccessFact,
    Actor,
    AdrFact,
    ArtifactFact,
    ChecklistFact,
    DrillFact,
    ExitFact,
    MemberFact,
    MetricFact,
    MilestoneFact,
    ShadowFact,
    Subject,
)

TODAY = date(2025, 3, 1)
DATES = {
    "discovery_start": date(2025, 2, 1),
    "trial_start": date(2025, 3, 1),
    "trial_end": date(2025, 5, 30),
    "period_start": date(2025, 3, 1),
    "period_end": date(2025, 5, 30),
}
MINIMAL = """\
name = "mini"
version = 1

[states.a]
initial = true

[states.b]
timers = [{ event = "finish", at = "period_end" }]

[states.done]
final = true

[[transitions]]
event = "go"
from = "a"
to = "b"
roles = ["manager"]

[[transitions]]
event = "finish"
from = "b"
to = "done"
roles = ["manager", "system"]
"""


EXIT_CONFIRMED = ExitFact(
    ip_assignment_confirmed=True,
    ip_document_url="https://docs.example.com/ip.pdf",
    data_disposition="deleted",
    data_certificate_url="https://docs.example.com/deletion.pdf",
    artifacts_transferred_to="https://github.com/acme/models",
)


def actor(role: str) -> Actor:
    """An actor with the given role."""
    return Actor(id=None if role == "system" else 1, role=role, name=f"A {role}")


def ready_subject(state: str, **changes) -> Subject:
    """An engagement in `state` where every guard of the default lifecycle holds."""
    fields = {
        "state": state,
        "today": TODAY,
        "checklist": tuple(
            ChecklistFact(i, kind, f"{kind} item", "done", "Dana Lee", TODAY)
            for i, kind in enumerate(("prerequisite", "placement", "knowledge_transfer"), 1)
        ),
        "milestones": (
            MilestoneFact(1, "Baseline model", TODAY, "met", "AUC >= 0.8", 0, targets=(1,)),
        ),
        "metrics": (MetricFact(1, "Offline AUC", has_baseline=True),),
        "members": (MemberFact(5, "Ana Ruiz", True, ("feature pipeline",)),),
        "shadows": (ShadowFact(1, 5, "Bo Chen", ("feature pipeline",), True),),
        "adrs": (AdrFact(7, 1, "Use a feature store", "accepted"),),
        "artifacts": (ArtifactFact(1, "runbook", "On-call runbook"),),
        "drills": (DrillFact(1, 5, "feature pipeline", "passed", TODAY, "Bo Chen"),),
        "access": (AccessFact(1, 5, "Ana Ruiz", "GitHub", "ana-r", "Dana Lee", "Bo Chen"),),
        "exit": EXIT_CONFIRMED,
        "current_period": 0,
        "dates": dict(DATES),
    }
    fields.update(changes)
    return Subject(**fields)


def blocked_subject(state: str) -> Subject:
    """An engagement in `state` where every guard of the default lifecycle fails once."""
    return ready_subject(
        state,
        checklist=(
            ChecklistFact(11, "prerequisite", "Clear problem statement", "open", "Dana Lee", None),
            ChecklistFact(12, "placement", "IP assignment", "open", None, date(2025, 3, 3)),
            ChecklistFact(13, "knowledge_transfer", "Hand over dashboards", "open", None, None),
        ),
        milestones=(MilestoneFact(3, "Day 30", date(2025, 3, 31), "at_risk", "", 0),),
        members=() if state == "discovery" else (MemberFact(5, "Ana Ruiz", True, ("serving",)),),
        shadows=(),
        adrs=(AdrFact(7, 4, "Use a feature store", "proposed"),),
        artifacts=(),
        drills=(),
        access=(AccessFact(1, 5, "Ana Ruiz", "GitHub", "ana-r"),),
        exit=ExitFact(),
    )
