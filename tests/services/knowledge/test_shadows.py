"""Shadow assignments and artifacts: who may do what, validation by field, sign-off rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import make_user
from tracker.core import clock
from tracker.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import Artifact, ShadowAssignment
from tracker.services.knowledge import artifacts, shadows

SESSION = {"held_on": date(2025, 5, 2), "duration_minutes": 90, "topic": "Serving walkthrough"}


def _assign(kt, **overrides):
    data = {"member_id": kt.mara.id, "shadow_id": kt.internal.id, "areas": ["serving"]}
    data.update(overrides)
    return shadows.assign_shadow(kt.manager, kt.engagement.id, data)


def test_full_shadow_lifecycle(kt):
    assignment = _assign(kt, areas=["serving", "features"])
    shadows.log_session(kt.provider, assignment.id, SESSION)
    shadows.rate_confidence(kt.internal, assignment.id, 4)
    signed = shadows.sign_off(kt.manager, assignment.id)
    assert signed.is_signed_off and signed.signed_off_by_id == kt.manager.id
    assert signed.signed_off_at.tzinfo is not None
    [listed] = shadows.list_shadows(kt.provider, kt.engagement.id)
    assert listed.confidence == 4 and [s.topic for s in listed.sessions] == ["Serving walkthrough"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"member_id": 999999}, "member_id"),
        ({"areas": []}, "areas"),
        ({"areas": ["kitchen sink"]}, "areas"),
        ({"start_date": date(2025, 5, 1), "end_date": date(2025, 4, 1)}, "end_date"),
    ],
)
def test_bad_assignments_name_the_field_and_change_nothing(kt, overrides, field):
    with pytest.raises(ValidationFailed) as error:
        _assign(kt, **overrides)
    assert field in error.value.errors
    assert db.session.query(ShadowAssignment).count() == 0


def test_shadow_must_be_internal_and_member_external(kt):
    with pytest.raises(ValidationFailed) as error:
        _assign(kt, shadow_id=kt.provider.id)
    assert "shadow_id" in error.value.errors
    internal_member = kt.engagement.members[-1]
    with pytest.raises(ValidationFailed) as error:
        _assign(kt, member_id=internal_member.id, areas=["everything"])
    assert "member_id" in error.value.errors


def test_a_member_who_has_left_cannot_be_shadowed(kt):
    """Their end date has passed: there is nobody left to learn from (the last day still counts)."""
    today = clock.now().date()
    kt.mara.end_date = today - timedelta(days=1)
    kt.tom.end_date = today
    db.session.commit()
    assert shadows.shadowable_members(kt.engagement) == [kt.tom]
    with pytest.raises(ValidationFailed) as error:
        _assign(kt)
    [message] = error.value.errors["member_id"]
    assert message.startswith(f"Mara Quint left the engagement on {kt.mara.end_date.isoformat()}")
    assert db.session.query(ShadowAssignment).count() == 0
    assert _assign(kt, member_id=kt.tom.id, areas=["pipelines"]).member_id == kt.tom.id


def test_only_managers_assign_and_only_the_owner_signs_off(kt):
    with pytest.raises(Forbidden):
        shadows.assign_shadow(
            kt.provider,
            kt.engagement.id,
            {"member_id": kt.mara.id, "shadow_id": kt.internal.id, "areas": ["serving"]},
        )
    assignment = _assign(kt)
    shadows.log_session(kt.internal, assignment.id, SESSION)
    shadows.rate_confidence(kt.internal, assignment.id, 5)
    with pytest.raises(Forbidden):
        shadows.sign_off(kt.provider, assignment.id)
    with pytest.raises(Forbidden):
        shadows.sign_off(make_user("manager"), assignment.id)  # a manager, not the owner
    with pytest.raises(Forbidden):
        shadows.rate_confidence(kt.manager, assignment.id, 1)  # only the shadow rates
    assert not db.session.get(ShadowAssignment, assignment.id).is_signed_off


def test_sign_off_needs_a_session_and_a_rating(kt):
    assignment = _assign(kt)
    with pytest.raises(Conflict) as error:
        shadows.sign_off(kt.manager, assignment.id)
    assert "no session" in error.value.message and "confidence" in error.value.message


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**SESSION, "duration_minutes": 0}, "duration_minutes"),
        ({**SESSION, "duration_minutes": 5000}, "duration_minutes"),
        ({**SESSION, "topic": "  "}, "topic"),
        ({**SESSION, "held_on": None}, "held_on"),
    ],
)
def test_bad_sessions_name_the_field(kt, data, field):
    assignment = _assign(kt)
    with pytest.raises(ValidationFailed) as error:
        shadows.log_session(kt.manager, assignment.id, data)
    assert field in error.value.errors
    assert db.session.get(ShadowAssignment, assignment.id).sessions == []


def test_confidence_out_of_range(kt):
    assignment = _assign(kt)
    with pytest.raises(ValidationFailed) as error:
        shadows.rate_confidence(kt.internal, assignment.id, 6)
    assert "confidence" in error.value.errors


def test_changing_areas_withdraws_the_sign_off(kt):
    assignment = _assign(kt)
    shadows.log_session(kt.internal, assignment.id, SESSION)
    shadows.rate_confidence(kt.internal, assignment.id, 3)
    shadows.sign_off(kt.manager, assignment.id)
    shadows.update_shadow(kt.manager, assignment.id, {"areas": ["serving", "features"]})
    assert not db.session.get(ShadowAssignment, assignment.id).is_signed_off


def test_other_provider_sees_no_shadows_or_artifacts(kt):
    assignment = _assign(kt)
    artifact = artifacts.add_artifact(
        kt.provider,
        kt.engagement.id,
        {"kind": "runbook", "title": "Serving", "url": "https://wiki.example.com/rb"},
    )
    outsider = make_user("provider", provider="Quanta Labs")
    for call in (
        lambda: shadows.get_shadow(outsider, assignment.id),
        lambda: shadows.log_session(outsider, assignment.id, SESSION),
        lambda: shadows.list_shadows(outsider, kt.engagement.id),
        lambda: artifacts.remove_artifact(outsider, artifact.id),
        lambda: artifacts.list_artifacts(outsider, kt.engagement.id),
    ):
        with pytest.raises(NotFound):
            call()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "poem", "title": "x", "url": "https://a.example"}, "kind"),
        ({"kind": "runbook", "title": "", "url": "https://a.example"}, "title"),
        ({"kind": "runbook", "title": "x", "url": "javascript:alert(1)"}, "url"),
        (
            {"kind": "runbook", "title": "x", "url": "https://a.example", "owner_id": 99999},
            "owner_id",
        ),
    ],
)
def test_bad_artifacts_name_the_field(kt, data, field):
    with pytest.raises(ValidationFailed) as error:
        artifacts.add_artifact(kt.manager, kt.engagement.id, data)
    assert field in error.value.errors
    assert db.session.query(Artifact).count() == 0


def test_providers_remove_only_their_own_links(kt):
    link = {"kind": "recording", "title": "Demo", "url": "https://video.example/1"}
    mine = artifacts.add_artifact(kt.provider, kt.engagement.id, link)
    theirs = artifacts.add_artifact(kt.manager, kt.engagement.id, link)
    assert mine.owner_id == kt.provider.id
    with pytest.raises(Forbidden):
        artifacts.remove_artifact(kt.provider, theirs.id)
    artifacts.remove_artifact(kt.provider, mine.id)
    assert [a.id for a in artifacts.list_artifacts(kt.manager, kt.engagement.id)] == [theirs.id]


def test_an_auditor_is_neither_offered_nor_accepted_as_a_shadow(kt):
    """An auditor reads and changes nothing (ADR 0228): not a shadow, not a drill's doer."""
    from tracker.services.administration import users

    auditor = make_user("auditor", name="Ada Auditor")
    assert auditor not in users.internal_users() and kt.internal in users.internal_users()
    with pytest.raises(ValidationFailed) as error:
        _assign(kt, shadow_id=auditor.id)
    assert "auditor" in error.value.errors["shadow_id"][0]
    assert db.session.query(ShadowAssignment).count() == 0
