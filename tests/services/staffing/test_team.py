"""Team members through the service (services/staffing/team.py): whatever the caller (API,
form, script), a missing or unknown field is a ValidationFailed naming it, nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import make_engagement, make_user
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import TeamMember
from tracker.services.staffing import team


def _members() -> int:
    return db.session.scalar(select(func.count()).select_from(TeamMember))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Ana"}, "role"),
        ({"name": "Ana", "role": None}, "role"),
        ({"name": "Ana", "role": "  "}, "role"),
        ({"name": "Ana", "role": "wizard"}, "role"),
        ({"role": "ml_engineer"}, "name"),
        ({"name": " ", "role": "ml_engineer"}, "name"),
    ],
)
def test_adding_without_a_valid_name_or_role_names_the_field(app, ctx, data, field):
    manager = make_user("manager")
    engagement = make_engagement(manager)
    before = _members()
    with pytest.raises(ValidationFailed) as refused:
        team.add_member(manager, engagement.id, data)
    assert set(refused.value.errors) == {field}
    db.session.rollback()
    assert _members() == before


def test_a_member_added_with_name_and_role_is_kept(app, ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager)
    member = team.add_member(manager, engagement.id, {"name": "Ana", "role": "ml_engineer"})
    assert (member.name, member.role, member.allocation) == ("Ana", "ml_engineer", 100)


def test_an_edit_may_not_blank_the_role(app, ctx):
    manager = make_user("manager")
    engagement = make_engagement(manager)
    member = team.add_member(manager, engagement.id, {"name": "Ana", "role": "ml_engineer"})
    with pytest.raises(ValidationFailed) as refused:
        team.update_member(manager, member.id, {"role": None})
    assert set(refused.value.errors) == {"role"}
    db.session.rollback()
    assert db.session.get(TeamMember, member.id).role == "ml_engineer"
