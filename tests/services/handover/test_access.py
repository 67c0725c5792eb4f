"""The access register: second-person verification, who sees what, bound items, health, CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import polars
import pytest
from sqlalchemy import select

from tests.factories import add_member, make_engagement, make_user
from tracker.core import clock
from tracker.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import AccessEntry, ChecklistItem, Engagement
from tracker.services.handover import access
from tracker.services.judgments import health

GITHUB = {"system": "GitHub org acme-ml", "kind": "code_repository", "account": "mara-q"}


@pytest.fixture
def entry(kt):
    return access.add_entry(kt.manager, kt.mara.id, GITHUB)


def _item(engagement, key) -> ChecklistItem:
    return db.session.scalar(
        select(ChecklistItem).where(
            ChecklistItem.engagement_id == engagement.id, ChecklistItem.key == key
        )
    )


def test_a_revocation_is_verified_by_a_second_person_only(kt, entry):
    access.revoke_entry(kt.manager, entry.id, "Removed from the org")
    with pytest.raises(Forbidden) as refused:
        access.verify_entry(kt.manager, entry.id, "looked at the members list")
    assert list(refused.value.errors) == ["verified_by"]
    db.session.rollback()
    assert db.session.get(AccessEntry, entry.id).verified_at is None
    second = make_user("manager")
    verified = access.verify_entry(second, entry.id, "  checked the GitHub org members list ")
    assert verified.verified_by_id == second.id and verified.revoked_by_id == kt.manager.id
    assert verified.verify_how == "checked the GitHub org members list"


def test_revoking_twice_and_verifying_before_revoking_are_refused_naming_the_field(kt, entry):
    with pytest.raises(Conflict) as early:
        access.verify_entry(make_user("manager"), entry.id, "checked")
    assert list(early.value.errors) == ["revoked_at"]
    db.session.rollback()
    access.revoke_entry(kt.manager, entry.id)
    revoked_at = db.session.get(AccessEntry, entry.id).revoked_at
    with pytest.raises(Conflict) as twice:
        access.revoke_entry(make_user("manager"), entry.id)
    assert list(twice.value.errors) == ["revoked_at"]
    db.session.rollback()
    again = db.session.get(AccessEntry, entry.id)
    assert again.revoked_at == revoked_at and again.revoked_by_id == kt.manager.id


def test_a_verification_says_how(kt, entry):
    access.revoke_entry(kt.manager, entry.id)
    with pytest.raises(ValidationFailed) as refused:
        access.verify_entry(make_user("manager"), entry.id, "   ")
    assert list(refused.value.errors) == ["how"]


def test_providers_see_their_members_access_but_change_none(kt, entry):
    ivan = db.session.scalar(
        select(AccessEntry.member_id).where(AccessEntry.id == entry.id)
    )  # Mara's entry; an internal member's entry is the client's business
    internal = next(m for m in kt.engagement.members if not m.is_external)
    access.add_entry(kt.manager, internal.id, {"system": "VPN", "kind": "vpn"})
    seen = access.list_for_engagement(kt.provider, kt.engagement.id)
    assert [e.member_id for e in seen] == [ivan]
    with pytest.raises(NotFound):
        access.list_for_member(kt.provider, internal.id)
    for change in (access.revoke_entry, access.verify_entry):
        with pytest.raises(Forbidden):
            change(kt.provider, entry.id, "x")
        db.session.rollback()
    assert db.session.get(AccessEntry, entry.id).revoked_at is None


def test_another_providers_member_answers_like_nothing_there(kt, entry):
    stranger = make_user("provider", provider="Quanta Labs")
    with pytest.raises(NotFound):
        access.list_for_member(stranger, kt.mara.id)
    with pytest.raises(NotFound):
        access.add_entry(stranger, kt.mara.id, GITHUB)
    with pytest.raises(NotFound):
        access.revoke_entry(stranger, entry.id)


def test_a_following_stakeholder_reads_and_cannot_revoke(kt, entry):
    reader = make_user("stakeholder")
    kt.engagement.followers.append(reader)
    db.session.commit()
    assert [e.id for e in access.list_for_engagement(reader, kt.engagement.id)] == [entry.id]
    with pytest.raises(Forbidden):
        access.revoke_entry(reader, entry.id)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"system": " ", "kind": "vpn"}, "system"),
        ({"system": "Slack", "kind": "telepathy"}, "kind"),
        ({"system": "Slack", "kind": "chat", "granted_on": "future"}, "granted_on"),
    ],
)
def test_a_bad_entry_names_the_field(kt, data, field):
    if data.get("granted_on") == "future":
        data = data | {"granted_on": clock.now().date() + timedelta(days=2)}
    with pytest.raises(ValidationFailed) as refused:
        access.add_entry(kt.manager, kt.mara.id, data)
    assert list(refused.value.errors) == [field]


def test_the_bound_items_follow_the_register(kt):
    register, rotated = (
        _item(kt.engagement, "access_register"),
        _item(kt.engagement, "credentials_rotated"),
    )
    first = access.add_entry(kt.manager, kt.mara.id, GITHUB)
    db.session.refresh(register)
    assert register.status == "open"  # Tom has no entry yet
    second = access.add_entry(kt.manager, kt.tom.id, GITHUB | {"account": "tom-r"})
    db.session.refresh(register)
    assert register.status == "done" and register.is_from_data
    verifier = make_user("manager")
    for entry in (first, second):
        access.revoke_entry(kt.manager, entry.id)
        db.session.refresh(rotated)
        assert rotated.status == "open"  # revoked is not yet verified
        access.verify_entry(verifier, entry.id, "checked the org")
    db.session.refresh(rotated)
    assert rotated.status == "done"


def test_a_member_gone_with_access_open_turns_health_amber_naming_the_systems(kt, entry):
    access.add_entry(kt.manager, kt.mara.id, {"system": "AWS ml-prod", "kind": "cloud_account"})
    kt.mara.end_date = clock.now().date() - timedelta(days=1)
    db.session.commit()
    health.refresh_health([kt.engagement.id])
    db.session.commit()
    engagement = db.session.get(Engagement, kt.engagement.id)
    reasons = [r for r in engagement.health_reasons if r["code"] == "access_open_after_end"]
    assert engagement.health in ("amber", "red") and len(reasons) == 1
    assert "Mara Quint" in reasons[0]["message"]
    assert "GitHub org acme-ml, AWS ml-prod" in reasons[0]["message"]
    for open_entry in access.list_for_member(kt.manager, kt.mara.id):
        access.revoke_entry(kt.manager, open_entry.id)
    engagement = db.session.get(Engagement, kt.engagement.id)
    assert not [r for r in engagement.health_reasons if r["code"] == "access_open_after_end"]


def test_a_member_still_on_the_team_with_access_is_not_a_health_reason(kt, entry):
    kt.mara.end_date = clock.now().date()
    db.session.commit()
    health.refresh_health([kt.engagement.id])
    engagement = db.session.get(Engagement, kt.engagement.id)
    assert not [r for r in engagement.health_reasons if r["code"] == "access_open_after_end"]


def test_the_access_csv_reads_back_with_two_parsers(kt, entry):
    access.revoke_entry(kt.manager, entry.id, 'Removed, "finally"')
    text = "".join(access.access_csv(kt.manager, kt.engagement.id))
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r["member"], r["system"], r["revoked_by"]) for r in rows] == [
        ("Mara Quint", "GitHub org acme-ml", kt.manager.name)
    ]
    assert rows[0]["revoke_note"] == 'Removed, "finally"' and rows[0]["verified_at"] == ""
    frame = polars.read_csv(io.BytesIO(text.encode("utf-8")))
    assert frame.columns == list(access.CSV_HEADER)
    assert frame["account"].to_list() == ["mara-q"]


def test_the_register_of_a_closed_engagement_is_final(ctx):
    engagement = make_engagement()
    member = add_member(engagement)
    engagement.closed_at = clock.now()
    db.session.commit()
    with pytest.raises(Conflict):
        access.add_entry(engagement.owner, member.id, GITHUB)


def test_a_leaving_members_revocation_is_due_on_their_end_date_and_reminds_the_owner(kt, entry):
    from tracker.models import Reminder
    from tracker.services.staffing import team

    end = clock.now().date() + timedelta(days=10)
    team.update_member(kt.manager, kt.mara.id, {"end_date": end})
    item = _item(kt.engagement, f"revoke_access:{kt.mara.id}")
    assert item.title == "Revoke Mara Quint's access (GitHub org acme-ml)"
    assert (item.due_date, item.owner_id, item.status) == (end, kt.engagement.owner_id, "open")
    rules = set(db.session.scalars(select(Reminder.rule).where(Reminder.subject_id == item.id)))
    assert "checklist_due" in rules  # then checklist_overdue, as for any checklist item
    with pytest.raises(ValidationFailed):
        from tracker.services.delivery import checklists

        checklists.complete_item(kt.manager, item.id)
    db.session.rollback()
    access.revoke_entry(kt.manager, entry.id)
    db.session.refresh(item)
    assert item.status == "done" and item.title == "Revoke Mara Quint's access"
