"""Derived data: create_app installs the pipeline, importing installs nothing, and health
follows every kind of edit in the edit's own commit without the service naming it."""

import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import event, insert, select

from tests.factories import add_metric, add_milestone, add_target, make_engagement, make_user
from tracker.core import clock
from tracker.extensions import db
from tracker.models import (
    ChecklistItem,
    Engagement,
    Milestone,
    MilestoneTarget,
    ProviderOrganisation,
)
from tracker.services import derived
from tracker.services.change_requests import service as change_requests
from tracker.services.delivery import checklists, milestones
from tracker.services.derived import (
    MAPPER_HOOKS,
    PER_FLUSH,
    UNIT_OF_WORK_END,
    Listener,
    register_derived_data,
)
from tracker.services.evidence import measurements
from tracker.services.handover import access
from tracker.services.staffing import team

GITHUB = {"system": "GitHub org acme-ml", "kind": "code_repository", "account": "mara-q"}


def test_create_app_installs_every_listener_of_the_registry(app):
    for listener in (*PER_FLUSH, *MAPPER_HOOKS, *UNIT_OF_WORK_END):
        assert event.contains(listener.target, listener.event, listener.step), listener


def test_registering_again_installs_nothing_twice(app, monkeypatch):
    calls = []

    def step(session, flush_context):
        calls.append(1)

    listener = Listener(db.session, "after_flush", step, "a counter")
    monkeypatch.setattr(derived, "PER_FLUSH", (listener,))
    try:
        register_derived_data(app)
        register_derived_data(app)
        with app.app_context():
            db.session.add(ProviderOrganisation(name="Counted Ltd"))
            db.session.flush()
            db.session.rollback()
        assert calls == [1]
    finally:
        event.remove(db.session, "after_flush", step)


def test_importing_the_modules_installs_no_listener():
    """Only register_derived_data installs them: no import side effect to discover."""
    code = (
        "from sqlalchemy import event\n"
        "import tracker.models, tracker.services.derived as d\n"
        "print(any(event.contains(x.target, x.event, x.step)"
        " for x in (*d.PER_FLUSH, *d.MAPPER_HOOKS, *d.UNIT_OF_WORK_END)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_create_app_installs_the_unit_of_works_commit_hook(app):
    from tracker.services.core import transactions

    assert transactions._commit_hook == [derived.derive_before_commit]
    assert event.contains(db.session, "before_commit", derived.derive_before_commit)


# --- Health follows every kind of edit, in the same commit, without the service naming it.
# Each edit goes through its service only: nothing here calls refresh_health.


def _stored(engagement_id: int) -> tuple[str, list[str]]:
    db.session.expire_all()
    row = db.session.get(Engagement, engagement_id)
    return row.health, [reason["code"] for reason in row.health_reasons]


def _trial(owner=None, **kwargs) -> Engagement:
    engagement = make_engagement(owner, provider="Northwind ML", **kwargs)
    engagement.state = "trial"
    engagement.trial_start = engagement.period_start = date.today() - timedelta(days=10)
    engagement.trial_end = engagement.period_end = date.today() + timedelta(days=80)
    db.session.commit()
    return engagement


def test_a_milestone_update_moves_health_in_its_commit(ctx):
    engagement = _trial()
    milestone = add_milestone(engagement, days=40)
    assert "milestone_blocked" not in _stored(engagement.id)[1]
    provider = make_user("provider", provider="Northwind ML")
    milestones.record_update(provider, milestone.id, status="blocked", note="no GPU quota")
    health, codes = _stored(engagement.id)
    assert health == "red" and "milestone_blocked" in codes


def test_a_checklist_items_due_date_moves_health_in_its_commit(ctx):
    engagement = _trial()
    engagement.discovery_start = date.today() - timedelta(days=30)  # a due date needs a start
    add_milestone(engagement, days=40)
    item = db.session.scalars(
        select(ChecklistItem).where(
            ChecklistItem.engagement_id == engagement.id, ChecklistItem.kind == "prerequisite"
        )
    ).first()
    assert _stored(engagement.id) == ("green", [])
    due = date.today() - timedelta(days=2)
    checklists.update_item(engagement.owner, item.id, {"due_date": due})
    assert _stored(engagement.id) == ("amber", ["checklist_overdue"])


def test_a_members_end_date_moves_health_in_its_commit(kt):
    access.add_entry(kt.manager, kt.mara.id, GITHUB)
    assert "access_open_after_end" not in _stored(kt.engagement.id)[1]
    team.update_member(kt.manager, kt.mara.id, {"end_date": clock.now().date() - timedelta(days=1)})
    health, codes = _stored(kt.engagement.id)
    assert health in ("amber", "red") and "access_open_after_end" in codes


def test_approving_a_change_request_moves_health_in_its_commit(ctx):
    owner = make_user("manager")
    engagement = _trial(owner)
    milestone = add_milestone(engagement, days=40)
    to = (milestone.due_date + timedelta(days=30)).isoformat()
    change = {"target": "milestone", "id": milestone.id, "field": "due_date", "to": to}
    request = change_requests.raise_request(
        owner, engagement.id, {"changes": [change], "why": "GPU quota arrived late"}
    )
    assert "drift" not in _stored(engagement.id)[1]
    change_requests.approve(make_user("admin"), request.id)
    health, codes = _stored(engagement.id)
    assert health == "amber" and "drift" in codes


def test_a_measurement_ingest_moves_health_in_its_commit(ctx):
    engagement = _trial()
    milestone = add_milestone(engagement, days=7)
    metric = add_metric(engagement, name="Offline AUC", direction="higher")
    add_target(milestone, metric, 0.85)
    engagement = db.session.get(Engagement, engagement.id)
    engagement.title = "Churn model"  # an edit: the factories' rows are judged at this commit
    db.session.commit()
    assert "target_at_risk" in _stored(engagement.id)[1]  # no measurement yet
    measurements.record_batch(
        engagement.owner, engagement.id, [{"metric_id": metric.id, "value": 0.9}]
    )


def _milestone_with_metric() -> tuple[Engagement, Milestone, int]:
    engagement = _trial()
    milestone = add_milestone(engagement, days=7)
    metric = add_metric(engagement, name="Offline AUC", direction="higher")
    return engagement, milestone, metric.id


def test_a_set_based_insert_of_inputs_is_judged_at_commit_unless_a_loader_derives_itself(ctx):
    engagement, milestone, metric_id = _milestone_with_metric()
    target = {"milestone_id": milestone.id, "metric_id": metric_id, "target": 0.85}
    assert "target_at_risk" not in _stored(engagement.id)[1]
    db.session.execute(insert(MilestoneTarget), [target])
    db.session.commit()
    assert "target_at_risk" in _stored(engagement.id)[1]  # a target without a measurement

    other, milestone, metric_id = _milestone_with_metric()
    db.session.info[derived.SET_BASED_LOAD] = True
    try:
        db.session.execute(
            insert(MilestoneTarget),
            [{"milestone_id": milestone.id, "metric_id": metric_id, "target": 0.85}],
        )
        db.session.commit()
    finally:
        db.session.info.pop(derived.SET_BASED_LOAD)
    assert "target_at_risk" not in _stored(other.id)[1]  # left to the loader's own pass
