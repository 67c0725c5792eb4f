"""Starting the trial derives interim targets by the definition's rule (linear from baseline)."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import (
    add_member,
    add_metric,
    add_milestone,
    add_target,
    complete_checklist,
    make_engagement,
)
from tracker.extensions import db
from tracker.models import ChecklistItem, Milestone, MilestoneTarget
from tracker.services.workflow import transitions


def test_start_trial_gives_the_new_milestones_targets_on_the_line_from_the_baseline(ctx):
    engagement = make_engagement()
    add_member(engagement)
    complete_checklist(engagement, "placement")  # the access register lists the member
    final = add_milestone(engagement, days=90, criteria="Latency within budget")
    complete_checklist(engagement, "prerequisite")  # also an AUC metric, target on that one
    latency = add_metric(engagement, name="p95", kind="latency", direction="lower", baseline=2600)
    add_target(final, latency, 2000)
    started = transitions.fire(engagement.owner, engagement.id, "start_trial")
    rows = db.session.execute(
        select(Milestone.due_date, MilestoneTarget.target)
        .join(MilestoneTarget, MilestoneTarget.milestone_id == Milestone.id)
        .where(Milestone.engagement_id == engagement.id, MilestoneTarget.metric_id == latency.id)
        .order_by(Milestone.due_date)
    ).all()
    offsets = [((due - started.trial_start).days, round(value)) for due, value in rows]
    # day 30 and 60 on the line 2,600 → 2,000 over the 90 days; day 90 is the manager's own
    assert offsets == [(30, 2400), (60, 2200), (90, 2000)]
    window = db.session.scalar(
        select(ChecklistItem).where(
            ChecklistItem.engagement_id == engagement.id, ChecklistItem.key == "engagement_window"
        )
    )
    assert window.status == "done" and window.is_from_data
