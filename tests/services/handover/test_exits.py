"""Exit confirmations: who confirmed each part, bad input refused whole, stale versions refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import make_user
from tracker.core import clock
from tracker.errors import Forbidden, StaleVersion, ValidationFailed
from tracker.extensions import db
from tracker.models import ExitConfirmation
from tracker.services.handover import exits

IP = {
    "ip_assignment_confirmed_on": None,
    "ip_document_url": "https://docs.example.com/ip.pdf",
}


def test_each_part_names_who_confirmed_it(kt):
    today = clock.now().date()
    first = exits.put_exit(kt.manager, kt.engagement.id, IP | {"ip_assignment_confirmed_on": today})
    assert (first.ip_confirmed_by_id, first.data_confirmed_by_id) == (kt.manager.id, None)
    other = make_user("manager")
    data = {
        "ip_assignment_confirmed_on": today,
        "ip_document_url": "https://docs.example.com/ip.pdf",
        "data_disposition": "deleted",
        "data_certificate_url": "https://docs.example.com/deleted.pdf",
        "artifacts_transferred_to": "s3://acme-models/churn",
    }
    second = exits.put_exit(other, kt.engagement.id, data, expected_version=first.version)
    assert second.ip_confirmed_by_id == kt.manager.id  # unchanged part keeps its confirmer
    assert second.data_confirmed_by_id == other.id and second.data_confirmed_on == today
    assert second.artifacts_confirmed_by_id == other.id


def test_the_bound_handover_item_follows_where_the_artifacts_went(kt):
    from tracker.models import ChecklistItem

    exits.put_exit(kt.manager, kt.engagement.id, {"artifacts_transferred_to": "s3://acme/m"})
    item = db.session.scalar(
        db.select(ChecklistItem).where(
            ChecklistItem.engagement_id == kt.engagement.id,
            ChecklistItem.key == "access_handover",
        )
    )
    assert item.status == "done" and item.is_from_data


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ip_document_url": "ftp://docs.example.com/ip.pdf"}, "ip_document_url"),
        ({"ip_assignment_confirmed_on": "future"}, "ip_assignment_confirmed_on"),
        ({"data_disposition": "shredded"}, "data_disposition"),
        ({"data_certificate_url": "https://docs.example.com/c.pdf"}, "data_disposition"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(kt, data, field):
    if data.get("ip_assignment_confirmed_on") == "future":
        data = {"ip_assignment_confirmed_on": clock.now().date() + timedelta(days=2)}
    with pytest.raises(ValidationFailed) as refused:
        exits.put_exit(kt.manager, kt.engagement.id, data)
    assert list(refused.value.errors) == [field]
    db.session.rollback()
    assert db.session.scalar(db.select(ExitConfirmation)) is None


def test_a_stale_version_is_refused_and_providers_cannot_confirm(kt):
    exits.put_exit(kt.manager, kt.engagement.id, IP)
    with pytest.raises(StaleVersion):
        exits.put_exit(kt.manager, kt.engagement.id, IP, expected_version=0)
    with pytest.raises(Forbidden):
        exits.put_exit(kt.provider, kt.engagement.id, IP)
    assert exits.get_exit(kt.provider, kt.engagement.id).ip_document_url == IP["ip_document_url"]
