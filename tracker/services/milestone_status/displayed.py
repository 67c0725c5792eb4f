"""A milestone's displayed status: the badge, its tone, and the provider's claim with its date.

The stored `Milestone.status` mixes two things: the provider's word (planned … done) and
the client side's verdict (met, missed). Shown as it is, a milestone 53 days past its due
date reads "On track" in green because that is the last thing the provider said. Here the
facts decide the badge: a verdict is shown as the verdict; past the due date without one,
the badge says "Overdue — no verdict" whatever was claimed; the provider's status is
always shown as a claim with the date it was made. Evidence (measured targets, supplied
by the metrics code) that contradicts an optimistic claim is put beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from tracker.models import FINAL_MILESTONE_STATUSES, Milestone, MilestoneStatus, label

OVERDUE = "overdue"
AWAITING_VERDICT = "awaiting_verdict"
CONTRADICTED = "contradicted"
# Claims that say things go well: a target shown not met contradicts them.
HOPEFUL = frozenset({MilestoneStatus.ON_TRACK, MilestoneStatus.DONE, MilestoneStatus.MET})
TONES = {
    MilestoneStatus.PLANNED: "slate",
    MilestoneStatus.ON_TRACK: "green",
    MilestoneStatus.AT_RISK: "amber",
    MilestoneStatus.BLOCKED: "red",
    MilestoneStatus.MET: "green",
    MilestoneStatus.MISSED: "red",
}


@dataclass(frozen=True)
class TargetEvidence:
    """One measured target of the milestone, as the metrics code judges it.

    The hook for evidence-based trials: `is_met` is None while there is no measurement;
    `text` names the metric with its measured value beside the target, in words
    ("p95 latency 2,450 ms against a target of ≤ 2,200 ms, measured 3 Dec").
    """

    metric: str
    is_met: bool | None
    text: str


@dataclass(frozen=True)
class DisplayedStatus:
    """What every surface shows for a milestone's status, and why."""

    key: str  # met, missed, overdue, contradicted, awaiting_verdict, planned, on_track, …
    label: str  # the badge's words
    tone: str  # green, amber, red, blue, slate: never green for an overdue milestone
    is_overdue: bool
    claim_status: str | None  # the provider's last status, when it is a claim
    claimed_on: date | None  # the day it was said (None: no dated update recorded)
    contradictions: tuple[str, ...]  # evidence against the claim or verdict
    reasons: tuple[str, ...]  # the badge explained in a sentence or two

    @property
    def claim(self) -> str | None:
        """ "Provider said On track, 3 Dec": the claim as what it is, with its date."""
        if self.claim_status is None:
            return None
        said = f"Provider said {label(self.claim_status)}"
        if self.claimed_on is None:
            return f"{said} (no date recorded)"
        return f"{said}, {self.claimed_on:%-d %b %Y}"

    def as_dict(self) -> dict:
        """The JSON shape of `displayed_status` in the API."""
        return {
            "key": self.key,
            "label": self.label,
            "tone": self.tone,
            "is_overdue": self.is_overdue,
            "claim": None
            if self.claim_status is None
            else {"status": self.claim_status, "on": self.claimed_on, "text": self.claim},
            "contradictions": list(self.contradictions),
            "reasons": list(self.reasons),
        }


def displayed_status(
    milestone: Milestone, today: date, evidence: Sequence[TargetEvidence] | None = None
) -> DisplayedStatus:
    """The one judgment of how a milestone's status reads, from its facts and `today`.

    A verdict reads as the verdict. Past the due date without one: "Overdue — no
    verdict", in red, whatever the provider last said. Before it, an optimistic claim
    that a measured target contradicts reads as contradicted; otherwise the provider's
    status, always with the dated claim beside it.
    """
    status = MilestoneStatus(milestone.status)
    misses = tuple(e.text for e in evidence or () if e.is_met is False)
    said, said_on = _claim(milestone)
    shown = partial(
        DisplayedStatus,
        claim_status=said,
        claimed_on=said_on,
        contradictions=misses if status in HOPEFUL else (),
        is_overdue=False,
    )
    if status in FINAL_MILESTONE_STATUSES:
        why = f"Verdict {label(status).lower()}{_on(milestone.verdict_at)}"
        return shown(key=status.value, label=label(status), tone=TONES[status], reasons=(why,))
    if milestone.due_date < today:
        days = (today - milestone.due_date).days
        why = f"Due {milestone.due_date:%-d %b %Y}, {_days(days)} ago, and no verdict yet."
        return shown(
            key=OVERDUE, label="Overdue — no verdict", tone="red", reasons=(why,), is_overdue=True
        )
    if status in HOPEFUL and misses:
        why = f"{label(status)} is claimed while a target is not met."
        text = f"{label(status)} claimed — target not met"
        return shown(key=CONTRADICTED, label=text, tone="amber", reasons=(why,))
    if status == MilestoneStatus.DONE:
        why = "The provider reports it done; a manager has not given the verdict yet."
        text = "Done — awaiting verdict"
        return shown(key=AWAITING_VERDICT, label=text, tone="blue", reasons=(why,))
    why = f"Not due until {milestone.due_date:%-d %b %Y}."
    return shown(key=status.value, label=label(status), tone=TONES[status], reasons=(why,))


def _claim(milestone: Milestone) -> tuple[str | None, date | None]:
    """The provider's last word and its day; None before anyone reported anything."""
    status = milestone.status
    if status in FINAL_MILESTONE_STATUSES:
        return None, None
    when = milestone.last_update_at
    if status == MilestoneStatus.PLANNED and when is None:
        return None, None  # nothing was said: "planned" is where every milestone starts
    return str(status), when.date() if when else None


def _on(instant: datetime | None) -> str:
    return f" on {instant:%-d %b %Y}." if instant else "."


def _days(days: int) -> str:
    return f"{days} day{'s' if days != 1 else ''}"


class MilestoneWithStatus:
    """A milestone read through the API: its own attributes plus `displayed_status`."""

    def __init__(self, milestone: Milestone, status: DisplayedStatus):
        self._milestone = milestone
        self.displayed_status = status.as_dict()

    def __getattr__(self, name: str):
        return getattr(self._milestone, name)


def with_displayed_status(
    milestones: Iterable[Milestone],
    today: date,
    evidence: Callable[[Milestone], Sequence[TargetEvidence]] | None = None,
) -> list[MilestoneWithStatus]:
    """The milestones, each carrying its displayed status, for the API's schema to dump;
    `evidence` gives a milestone's judged targets, which can contradict a hopeful claim."""
    return [
        MilestoneWithStatus(m, displayed_status(m, today, evidence(m) if evidence else None))
        for m in milestones
    ]
