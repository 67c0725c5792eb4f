"""The Evidence card read from the engagement page's rows is the card read on its own."""

from __future__ import annotations

from tests.factories import add_metric, add_milestone, add_target, make_engagement, make_user
from tracker.core import clock
from tracker.extensions import db
from tracker.models import Engagement, Milestone, User
from tracker.services.evidence.page import evidence_view
from tracker.services.read_model.engagement_page import engagement_view
from tracker.services.workflow.subjects import MetricFact, evidence_facts_of


def test_the_card_from_the_pages_rows_is_the_card_read_on_its_own(app, query_counter):
    today = clock.now().date()
    with app.app_context():
        manager = make_user("manager")
        provider = make_user("provider", provider="Northwind ML")
        engagement = make_engagement(manager, provider="Northwind ML")
        day30, day60 = add_milestone(engagement, days=-5), add_milestone(engagement, days=25)
        removed = add_milestone(engagement, days=10, title="Dropped")
        auc = add_metric(engagement, name="AUC", baseline=0.7)
        spend = add_metric(engagement, name="Spend", kind="cost", direction="lower", baseline=None)
        gone = add_metric(engagement, name="Retired")
        for milestone, metric, target in (
            (day60, auc, 0.8), (day30, auc, 0.75), (day30, spend, 900.0),
            (removed, auc, 0.9), (day30, gone, 1.0),
        ):  # fmt: skip
            add_target(milestone, metric, target)
        removed.removed_at = gone.removed_at = clock.now()
        db.session.commit()
        ids = engagement.id, day30.id, day60.id, removed.id, auc.id, spend.id
        viewers = manager.id, provider.id
        db.session.remove()

        engagement = db.session.get(Engagement, ids[0])
        view = engagement_view(engagement, today)
        facts, targets = evidence_facts_of(view.evidence)
        assert facts == (MetricFact(ids[4], "AUC", True), MetricFact(ids[5], "Spend", False))
        assert targets == {ids[1]: (ids[4], ids[5]), ids[2]: (ids[4],), ids[3]: (ids[4],)}
        for viewer_id in viewers:
            viewer = db.session.get(User, viewer_id)
            with query_counter() as shared:
                card = evidence_view(engagement, view.milestones, viewer, today, view.evidence)
            with query_counter() as alone:
                own = evidence_view(engagement, view.milestones, viewer, today)
            assert card == own
            assert shared.count == alone.count - 2
        shown = [m.metric.name for m in card.metrics]  # the provider's: no cost metric
        assert shown == ["AUC"]
        lines = [(line.milestone_id, line.target) for line in card.metrics[0].targets]
        assert lines == [(ids[1], 0.75), (ids[2], 0.8)]  # by due date, live milestones only
        db.session.remove()


def test_verdict_reasons_from_the_loaded_updates_are_the_ones_queried(app, query_counter):
    """The page's milestones carry their updates: the latest reason of each is read from
    them (no statement), and is the one the query finds; a milestone without its updates
    loaded is read by the query."""
    from datetime import timedelta

    from tracker.models import MilestoneUpdate
    from tracker.services.evidence.page import _verdict_reasons, _verdict_reasons_of

    with app.app_context():
        engagement = make_engagement(make_user("manager"))
        first, second, none = (add_milestone(engagement, days=d) for d in (-5, 10, 20))
        at = clock.now()
        for milestone, reason, later in (
            (first, "Old cluster", 0), (first, "Rerun on the new one", 2), (first, None, 3),
            (second, "Sample too small", 1), (none, None, 0),
        ):  # fmt: skip
            milestone.updates.append(
                MilestoneUpdate(status="met", reason=reason, created_at=at + timedelta(hours=later))
            )
        db.session.commit()
        ids, engagement_id = [first.id, second.id, none.id], engagement.id
        db.session.remove()

        queried = _verdict_reasons(ids)
        assert queried == {ids[0]: "Rerun on the new one", ids[1]: "Sample too small"}
        milestones = engagement_view(db.session.get(Engagement, engagement_id), clock.now().date())
        with query_counter() as loaded:
            assert _verdict_reasons_of(milestones.milestones) == queried
        assert loaded.count == 0
        db.session.remove()
        cold = [db.session.get(Milestone, i) for i in ids]
        with query_counter() as read:
            assert _verdict_reasons_of(cold) == queried
        assert read.count == 1
