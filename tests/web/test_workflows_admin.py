"""/admin/workflows: versions in use with counts, broken files, migration preview and run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.commands.conftest import V1_BYTES, write_v2
from tests.factories import make_engagement, make_user
from tracker.core import clock
from tracker.extensions import db
from tracker.models import AuditEvent, Engagement, WorkflowTimer


@pytest.fixture
def workflow_dir(tmp_path):
    """staff_augmentation v1 (the shipped text renumbered) and a malformed file."""
    directory = tmp_path / "definitions"
    directory.mkdir()
    (directory / "staff_augmentation.toml").write_bytes(V1_BYTES)
    (directory / "broken_flow.toml").write_bytes(b'name = "broken_flow"\n[states.x\n')
    return directory


@pytest.fixture
def app(make_app, workflow_dir):
    return make_app(WORKFLOW_DIR=str(workflow_dir))


@pytest.fixture
def fleet(app, workflow_dir) -> dict[str, int]:
    """On v1: one in discovery, one in extension (gone in v2) with a timer, one closed; then
    v2 ships and one engagement starts on it."""
    with app.app_context():
        manager = make_user("manager")
        ids = {}
        states = [("scoping", "discovery"), ("extended", "extension"), ("closed", "closed")]
        for key, state in states:
            engagement = make_engagement(manager, title=key.title())
            engagement.state = state
            ids[key] = engagement.id
        db.session.get(Engagement, ids["closed"]).closed_at = clock.now()
        db.session.add(
            WorkflowTimer(
                engagement_id=ids["extended"],
                event="begin_review",
                from_state="extension",
                due_at=clock.now() + timedelta(days=30),
            )
        )
        db.session.commit()
        write_v2(workflow_dir)
        ids["already_v2"] = make_engagement(manager, title="Already").id
        db.session.remove()
    return ids


def _state(app) -> tuple:
    with app.app_context():
        rows = db.session.scalars(select(Engagement).order_by(Engagement.id))
        engagements = [(e.id, e.workflow_version, e.state, e.version) for e in rows]
        audits = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "migration"))
        return engagements, [(a.engagement_id, a.actor_id, a.data["to_version"]) for a in audits]


def _row(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"', 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize("role", ["manager", "provider", "stakeholder"])
def test_not_an_admin_gets_not_found_everywhere(client, sign_in, post, fleet, role, app):
    sign_in(role)
    before = _state(app)
    assert client.get("/admin/workflows").status_code == 404
    assert client.get("/admin/workflows/staff_augmentation/migrate").status_code == 404
    response = post("/admin/workflows/staff_augmentation/migrate", {"to_version": "2"})
    assert response.status_code == 404
    assert _state(app) == before


def test_signed_out_is_sent_to_sign_in(client):
    assert client.get("/admin/workflows").status_code == 302


def test_index_lists_versions_with_counts_and_the_broken_file(client, sign_in, fleet):
    sign_in("admin")
    response = client.get("/admin/workflows")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    v1, v2 = _row(html, "version-staff_augmentation-1"), _row(html, "version-staff_augmentation-2")
    assert 'data-testid="count">3<' in v1 and 'data-testid="open-count">2<' in v1
    assert 'data-testid="count">1<' in v2 and "staff_augmentation.v2.toml" in v2
    errors = html.split('data-testid="definition-errors"')[1].split("</section>")[0]
    assert "broken_flow.toml" in errors
    assert 'href="/admin/workflows/staff_augmentation/migrate"' in html


def test_preview_shows_what_moves_and_what_cannot_and_why_and_changes_nothing(
    client, sign_in, app, fleet
):
    sign_in("admin")
    before = _state(app)
    response = client.get("/admin/workflows/staff_augmentation/migrate")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 would move, 1 cannot move, 1 closed left on their version." in html
    scoping = _row(html, f"move-{fleet['scoping']}")
    assert "Would move" in scoping and "v2 <code>discovery</code>" in scoping
    blocked = _row(html, f"move-{fleet['extended']}")
    assert "Cannot move" in blocked and "extension" in blocked and "map it to one" in blocked
    assert f"move-{fleet['already_v2']}" not in html and f"move-{fleet['closed']}" not in html
    assert "Migrate 1 engagement to v2" in html
    assert _state(app) == before


def test_a_state_map_in_the_preview_lets_the_blocked_one_move(client, sign_in, app, fleet):
    sign_in("admin")
    before = _state(app)
    query = "to_version=2&state_map=extension%3Dextension_period"
    html = client.get(f"/admin/workflows/staff_augmentation/migrate?{query}").get_data(True)
    assert "2 would move, 0 cannot move" in html
    assert "v2 <code>extension_period</code>" in _row(html, f"move-{fleet['extended']}")
    assert 'name="state_map" value="extension=extension_period"' in html
    assert _state(app) == before


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("to_version=2&state_map=extension", "is not old=new"),
        ("to_version=2&state_map=extension%3Dnowhere", "&#39;nowhere&#39; is not a state of v2"),
        ("to_version=7", 'data-field="to_version"'),
        ("to_version=two", 'data-field="to_version"'),
    ],
)
def test_bad_preview_input_is_a_4xx_with_the_message(client, sign_in, app, fleet, query, message):
    sign_in("admin")
    response = client.get(f"/admin/workflows/staff_augmentation/migrate?{query}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_an_unknown_workflow_is_not_found(client, sign_in, fleet):
    sign_in("admin")
    assert client.get("/admin/workflows/nope/migrate").status_code == 404


def test_migrate_moves_what_can_move_and_audits_it_as_the_admin(client, sign_in, post, app, fleet):
    admin_id = sign_in("admin")
    before = dict((row[0], row) for row in _state(app)[0])
    response = post("/admin/workflows/staff_augmentation/migrate", {"to_version": "2"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Migrated to v2" in html and "1 moved, 1 cannot move" in html
    assert "Moved" in _row(html, f"move-{fleet['scoping']}")
    engagements, audits = _state(app)
    after = {row[0]: row for row in engagements}
    assert after[fleet["scoping"]][1:3] == (2, "discovery")
    assert after[fleet["extended"]] == before[fleet["extended"]]
    assert audits == [(fleet["scoping"], admin_id, 2)]
    again = post("/admin/workflows/staff_augmentation/migrate", {"to_version": "2"})
    assert "0 moved, 1 cannot move" in again.get_data(as_text=True)
    assert len(_state(app)[1]) == 1


def test_migrate_without_the_csrf_token_changes_nothing(client, sign_in, app, fleet):
    sign_in("admin")
    before = _state(app)
    response = client.post("/admin/workflows/staff_augmentation/migrate", data={"to_version": "2"})
    assert response.status_code == 400
    assert _state(app) == before
