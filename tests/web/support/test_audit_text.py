"""Every kind of audit entry reads as a sentence naming its object and the change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import make_engagement
from tracker.models import AuditEvent
from tracker.web.support.audit_text import SENTENCES, audit_items_html, audit_sentence

CASES = [
    ("created", {}, {"to_state": "discovery"}, "Created it in Discovery"),
    (
        "updated",
        {
            "changed": {
                "title": ["Pod", "Forecasting pod"],
                "trial_end": ["2026-12-22", "2027-01-05"],
            }
        },
        {},
        "Renamed 'Pod' to 'Forecasting pod'; trial end 22 Dec 2026 → 5 Jan 2027",
    ),
    (
        "cost_updated",
        {"changed": {"monthly_cost": ["1000", "1200"]}},
        {},
        "Monthly cost '1000' → '1200'",
    ),
    (
        "transition",
        {"inputs": {}},
        {"event": "start_trial", "from_state": "discovery", "to_state": "trial"},
        "Moved it from Discovery to Trial (start trial)",
    ),
    (
        "migration",
        {"from_version": 1, "to_version": 2},
        {"from_state": "trial", "to_state": "trial"},
        "Migrated the workflow from v1 to v2",
    ),
    (
        "health_override",
        {"health": "red", "until": "2026-12-24"},
        {},
        "Set health to red until 24 Dec 2026",
    ),
    (
        "health_override",  # what override_health really writes: an instant
        {"health": "green", "until": "2026-12-24T09:30:00+00:00"},
        {},
        "Set health to green until 24 Dec 2026",
    ),
    ("health_override", {"health": None, "until": None}, {}, "Removed the health override"),
    ("milestone_added", {"title": "Day-90"}, {}, "Added the milestone 'Day-90'"),
    (
        "milestone_edited",
        {"title": "Day-60 milestone", "changed": {"due_date": ["2026-12-22", "2027-01-05"]}},
        {},
        "Due date of 'Day-60 milestone' 22 Dec 2026 → 5 Jan 2027",
    ),
    (
        "milestone_edited",
        {"title": "Day-60 milestone", "changed": {"due_date": ["2026-11-22", "2026-12-05"]}},
        {},
        "Due date of 'Day-60 milestone' 22 Nov → 5 Dec",
    ),
    (
        "milestone_edited",
        {"title": "Day-60", "changed": {"success_criteria": ["a", "MAPE below 8%"]}},
        {},
        "Success criteria of 'Day-60' set to 'MAPE below 8%'",
    ),
    ("milestone_removed", {"title": "Day-30"}, {}, "Removed the milestone 'Day-30'"),
    (
        "milestone_update",
        {"title": "Day-30", "from": "planned", "to": "at_risk"},
        {},
        "Set 'Day-30' from planned to at risk",
    ),
    ("milestone_verdict", {"title": "Day-30", "to": "met"}, {}, "Gave the verdict met on 'Day-30'"),
    ("checklist_added", {"title": "Badge issued"}, {}, "Added the checklist item 'Badge issued'"),
    (
        "checklist_updated",
        {
            "title": "Badge issued",
            "owner": [None, "Rosa Quint"],
            "changed": {"owner_id": [None, 7], "note": ["", "At the desk"]},
        },
        {},
        "Owner of 'Badge issued' none → Rosa Quint; note of 'Badge issued' set to 'At the desk'",
    ),
    (
        "checklist_completed",
        {"title": "Data access and infrastructure ready", "status": "done"},
        {},
        "Completed 'Data access and infrastructure ready'",
    ),
    (
        "checklist_completed",
        {"title": "NDA", "status": "not_applicable"},
        {},
        "Marked 'NDA' not applicable",
    ),
    (
        "checklist_completed",
        {"title": "Contact named", "fact": "technical_contact_named", "from_data": True},
        {},
        "Completed 'Contact named' from the data (technical contact named)",
    ),
    ("checklist_reopened", {"title": "NDA"}, {}, "Reopened 'NDA'"),
    ("checklist_removed", {"title": "Badge"}, {}, "Removed the checklist item 'Badge'"),
    (
        "checklist_moved",
        {"title": "Badge", "direction": "up", "position": [3, 2]},
        {},
        "Moved 'Badge' up (place 3 → 2)",
    ),
    (
        "hiring_evaluation_opened",
        {"title": "Evaluate hiring", "months": 12},
        {},
        "Opened 'Evaluate hiring' after 12 months on the engagement",
    ),
    ("team_member_added", {"name": "Mara Quint"}, {}, "Added 'Mara Quint' to the team"),
    (
        "team_member_updated",
        {"name": "Mara Quint", "fields": ["allocation", "role"]},
        {},
        "Changed the allocation, role of 'Mara Quint'",
    ),
    ("team_member_removed", {"name": "Mara Quint"}, {}, "Removed 'Mara Quint' from the team"),
    (
        "shadow_assigned",
        {"who": "Ian Wu", "of": "Mara Quint", "areas": ["etl"]},
        {},
        "Assigned Ian Wu to shadow Mara Quint on etl",
    ),
    ("shadow_updated", {"shadow": 4}, {}, "Edited shadow assignment 4"),
    ("shadow_session", {"shadow": 4}, {}, "Logged a shadow session of assignment 4"),
    ("shadow_confidence", {"confidence": 3}, {}, "Set shadow confidence to 3"),
    ("shadow_signed_off", {"shadow": 4}, {}, "Signed off shadow assignment 4"),
    (
        "drill_recorded",
        {"outcome": "failed", "area": "serving", "task": "Roll back"},
        {},
        "Recorded a failed drill of 'serving': 'Roll back'",
    ),
    ("drill_commented", {"task": "Roll back"}, {}, "Commented on the drill 'Roll back'"),
    (
        "access_added",
        {"member": "Mara Quint", "system": "GitHub"},
        {},
        "Listed 'GitHub' in the access register of 'Mara Quint'",
    ),
    (
        "access_revoked",
        {"member": "Mara Quint", "system": "GitHub"},
        {},
        "Revoked the access of 'Mara Quint' to 'GitHub'",
    ),
    (
        "access_verified",
        {"member": "Mara Quint", "system": "GitHub"},
        {},
        "Verified that 'Mara Quint' can no longer reach 'GitHub'",
    ),
    (
        "exit_updated",
        {"changed": ["data_disposition", "ip_document_url"]},
        {},
        "Changed the exit confirmations (data_disposition, ip_document_url)",
    ),
    ("artifact_added", {"title": "Runbook"}, {}, "Added the artifact 'Runbook'"),
    ("artifact_removed", {"title": "Runbook"}, {}, "Removed the artifact 'Runbook'"),
    ("adr_created", {"adr": 3}, {}, "Wrote ADR 3"),
    ("adr_accepted", {"adr": 3}, {}, "Accepted ADR 3"),
    ("adr_rejected", {"adr": 3}, {}, "Rejected ADR 3"),
    ("adr_deprecated", {"adr": 3}, {}, "Deprecated ADR 3"),
    ("adrs_imported", {"count": 2}, {}, "Imported 2 ADR(s)"),
    ("sign_in_throttled", {"failures": 5}, {}, "Sign-ins slowed after 5 failed attempts"),
    (
        "sso_signed_in",
        {"email": "a@x.io", "subject": "s1"},
        {},
        "Signed in through single sign-on as a@x.io",
    ),
    (
        "sso_linked",
        {"email": "a@x.io", "subject": "s1", "issuer": "https://idp.x.io"},
        {},
        "Linked a@x.io to the identity s1 at https://idp.x.io",
    ),
    (
        "sso_unlinked",
        {"email": "a@x.io", "subject": "s1", "issuer": "https://idp.x.io", "user_id": 4},
        {},
        "Unlinked a@x.io from the identity s1 at https://idp.x.io",
    ),
    (
        "sso_refused",
        {"email": "e@y.io", "subject": "s2"},
        {"reason": "domain_refused"},
        "Refused a single sign-on of e@y.io (Domain refused)",
    ),
    (
        "signed_in",
        {"email": "a@x.io", "address": "10.0.0.1", "browser": "known"},
        {},
        "Signed in (a browser that signed in before, 10.0.0.1)",
    ),
    (
        "sign_in_failed",
        {"email": "a@x.io", "address": None, "browser": "unknown"},
        {},
        "Failed sign-in as a@x.io (an unknown browser)",
    ),
    ("token_created", {"name": "ci"}, {}, "Created the API token 'ci'"),
    ("token_revoked", {"name": "ci"}, {}, "Revoked the API token 'ci'"),
    (
        "role_changed",
        {"email": "a@x.io", "from": "manager", "to": "admin"},
        {},
        "Changed the role of a@x.io from manager to admin",
    ),
    (
        "user_created",
        {"email": "a@x.io", "role": "manager"},
        {},
        "Created the account of a@x.io (manager)",
    ),
    ("user_invited", {"email": "a@x.io", "role": "provider"}, {}, "Invited a@x.io as provider"),
    (
        "user_updated",
        {"email": "a@x.io", "changed": {"role": ["manager", "admin"]}},
        {},
        "Role of 'a@x.io' 'manager' → 'admin'",
    ),
    ("user_deactivated", {"email": "a@x.io"}, {}, "Deactivated a@x.io"),
    ("user_reactivated", {"email": "a@x.io"}, {}, "Reactivated a@x.io"),
    (
        "password_link_sent",
        {"email": "a@x.io", "purpose": "reset"},
        {},
        "Sent a password reset link to a@x.io",
    ),
    (
        "password_set_by_link",
        {"email": "a@x.io", "purpose": "invite"},
        {},
        "Set the password of a@x.io through an invitation link",
    ),
    ("provider_created", {"name": "Quanta"}, {}, "Created the provider organisation 'Quanta'"),
    (
        "provider_updated",
        {"name": "Quanta Labs", "changed": {"name": ["Quanta", "Quanta Labs"]}},
        {},
        "Renamed 'Quanta' to 'Quanta Labs'",
    ),
    (
        "provider_deactivated",
        {"name": "Quanta"},
        {},
        "Deactivated the provider organisation 'Quanta'",
    ),
    (
        "provider_reactivated",
        {"name": "Quanta"},
        {},
        "Reactivated the provider organisation 'Quanta'",
    ),
    ("metric_added", {"name": "p95 latency"}, {}, "Defined the success metric 'p95 latency'"),
    (
        "metric_edited",
        {"title": "p95 latency", "changed": {"unit": ["s", "ms"]}},
        {},
        "Unit of 'p95 latency' 's' → 'ms'",
    ),
    ("metric_removed", {"name": "F1"}, {}, "Removed the success metric 'F1'"),
    (
        "target_set",
        {"name": "p95 latency", "title": "Day-30", "from": 2400.0, "to": 2200.0},
        {},
        "Set the target for 'p95 latency' on 'Day-30' to 2200 (was 2400)",
    ),
    (
        "target_removed",
        {"name": "F1", "title": "Day-90"},
        {},
        "Removed the target for 'F1' from 'Day-90'",
    ),
    ("ingest_token_created", {"name": "nightly"}, {}, "Created the ingest token 'nightly'"),
    ("change_request_proposed", {"change_request_id": 4}, {}, "Raised change request #4"),
    (
        "change_request_approved",
        {
            "change_request_id": 4,
            "changes": [
                {"subject": "Milestone 'Day-30'", "field": "due_date"},
                {"subject": "Mara Quint", "field": "allocation"},
            ],
        },
        {},
        "Approved and applied change request #4: Milestone 'Day-30' due date, "
        "Mara Quint allocation",
    ),
    (
        "change_request_approved_cost",
        {
            "change_request_id": 5,
            "changes": [{"subject": "The engagement", "field": "monthly_cost"}],
        },
        {},
        "Approved and applied change request #5: The engagement monthly cost",
    ),
    ("change_request_rejected", {"change_request_id": 6}, {}, "Rejected change request #6"),
    ("change_request_withdrawn", {"change_request_id": 7}, {}, "Withdrew change request #7"),
    ("ingest_token_revoked", {"name": "nightly"}, {}, "Revoked the ingest token 'nightly'"),
]


@pytest.mark.parametrize(
    ("kind", "data", "columns", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_each_kind_reads_as_a_sentence(ctx, kind, data, columns, expected):
    engagement = make_engagement(title="Forecasting pod")
    entry = AuditEvent(kind=kind, data=data, **columns)
    assert audit_sentence(entry, engagement) == expected


def test_a_hold_resume_says_how_long_and_how_many_dates_moved(ctx):
    engagement = make_engagement()
    entry = AuditEvent(
        kind="transition",
        event="resume",
        from_state="discovery",
        to_state="discovery",
        data={"hold": {"held_days": 21, "shifted": True, "shifts": [{}, {}, {}]}},
    )
    assert audit_sentence(entry, engagement).endswith(
        "after 21 days on hold; 3 date(s) moved by 21 days"
    )


def test_fields_the_viewer_may_not_see_are_left_out(ctx):
    engagement = make_engagement()
    entry = AuditEvent(
        kind="updated",
        data={"changed": {"title": ["A", "B"], "monthly_cost": ["1", "2"]}},
    )
    assert audit_sentence(entry, engagement, ("monthly_cost",)) == "Renamed 'A' to 'B'"


def test_the_pages_lines_hold_each_entrys_sentence_and_escape_every_text(ctx):
    """The engagement page's trail lines (built in one pass): the instant as `when` writes
    it, the actor, the sentence (the hidden fields left out) and the reason, all escaped."""
    from datetime import UTC, datetime
    from html.parser import HTMLParser

    engagement = make_engagement()
    at = datetime(2026, 3, 3, 14, 5, tzinfo=UTC)
    entries = [
        AuditEvent(
            kind="updated",
            actor_label="<b>Dana</b>",
            data={"changed": {"title": ["A<", "B&"], "monthly_cost": ["1", "2"]}},
            reason='Typed "<script>"',
            created_at=at,
        ),
        AuditEvent(kind="created", actor_label="scheduler", to_state="discovery", created_at=at),
    ]
    lines = audit_items_html(entries, engagement, ("monthly_cost",), lambda v: f"at {v:%H:%M}")

    class Items(HTMLParser):  # the reference parser: each <li>'s class, text and sentence
        def __init__(self):
            super().__init__()
            self.items, self.in_sentence = [], False

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "li":
                self.items.append({"class": attrs.get("class"), "text": "", "sentence": ""})
            self.in_sentence = attrs.get("data-testid") == "audit-sentence"

        def handle_endtag(self, tag):
            self.in_sentence = False

        def handle_data(self, data):
            if not self.items:  # the line break before the first entry
                return
            self.items[-1]["text"] += data
            if self.in_sentence:
                self.items[-1]["sentence"] += data

    parser = Items()
    parser.feed(f"<ol>{lines}</ol>")
    items = parser.items
    assert [item["class"] for item in items] == ["audit-updated", "audit-created"]
    assert (
        items[0]["text"].strip() == "at 14:05<b>Dana</b> Renamed 'A<' to 'B&'“Typed \"<script>\"”"
    )
    assert items[1]["text"] == "at 14:05scheduler Created it in Discovery"
    sentences = [item["sentence"] for item in items]
    assert sentences == [audit_sentence(e, engagement, ("monthly_cost",)) for e in entries]
    assert "<script>" not in lines and "&lt;b&gt;Dana" in lines


def _kinds_written_by_the_code() -> set[str]:
    """Kinds passed literally to audit.record / record_changes, plus the computed ones."""
    root = Path(__file__).resolve().parents[3] / "tracker"
    call = re.compile(r"audit\.record(?:_changes)?\(\s*[^,()]+(?:\([^)]*\))?,\s*[^,]+,\s*\"(\w+)\"")
    kinds: set[str] = set()
    for path in root.rglob("*.py"):
        kinds.update(call.findall(path.read_text()))
    # computed kinds: the bound-item sync, the verdict, ADR decisions, cost fields
    kinds |= {"checklist_completed", "checklist_reopened", "milestone_update"}
    kinds |= {"milestone_verdict", "cost_updated", "change_request_approved_cost"}
    kinds |= {"adr_accepted", "adr_rejected", "adr_deprecated"}
    kinds |= {"user_created", "user_invited"}
    return kinds


def test_every_kind_the_code_writes_has_a_sentence_and_a_case():
    written = _kinds_written_by_the_code()
    assert len(written) > 25  # the scan found the calls
    assert written <= set(SENTENCES), sorted(written - set(SENTENCES))
    assert set(SENTENCES) <= {case[0] for case in CASES}


def test_the_admin_trail_reads_in_sentences(client, app, sign_in):
    from tracker.extensions import db
    from tracker.models import User
    from tracker.services.administration import user_admin

    admin_id = sign_in("admin")
    with app.app_context():
        from tests.factories import make_user

        target = make_user("manager", email="leaving@example.com")
        user_admin.deactivate_user(db.session.get(User, admin_id), target.id, "Left the company")
        target_id = target.id
    html = client.get(f"/admin/users/{target_id}").get_data(as_text=True)
    assert '<span data-testid="audit-sentence">Deactivated leaving@example.com</span>' in html
