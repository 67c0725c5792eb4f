"""Milestones and checklist items edited on the engagement page: every refusal keeps what
was typed and changes nothing; every change is in the audit trail as a sentence."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import add_milestone, make_engagement, make_user
from tests.support.scheduler import at, day_pinned, reminders_for
from tracker.extensions import db
from tracker.models import AuditEvent, ChecklistItem, Engagement, Milestone, User

TODAY = date.today()


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on this module's TODAY, even if the run crosses midnight UTC."""
    day_pinned(app, TODAY)


@pytest.fixture
def manager(sign_in):
    return sign_in("manager")


@pytest.fixture
def engagement_id(app, manager):
    """An engagement ten days into its trial (reminders are planned in that state)."""
    with app.app_context():
        engagement = make_engagement(db.session.get(User, manager), title="Forecasting pod")
        start = TODAY - timedelta(days=10)
        engagement.state = "trial"
        engagement.trial_start = engagement.period_start = start
        engagement.trial_end = engagement.period_end = start + timedelta(days=90)
        db.session.commit()
        return engagement.id


@pytest.fixture
def milestone(app, engagement_id):
    with app.app_context():
        m = add_milestone(db.session.get(Engagement, engagement_id), days=20, title="Day-60")
        return m.id, m.version


@pytest.fixture
def item(app, engagement_id):
    """A hand-ticked item (bound to no fact) of the engagement."""
    with app.app_context():
        row = db.session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.engagement_id == engagement_id, ChecklistItem.fact.is_(None))
            .order_by(ChecklistItem.id)
        ).first()
        return row.id, row.version, row.title


def _audit_sentences(client, engagement_id) -> list[str]:
    html = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    found = re.findall(r'data-testid="audit-sentence">([^<]*)</span>', html)
    return [s.replace("&#39;", "'").replace("&amp;", "&") for s in found]


def _into_review(app, engagement_id) -> None:
    """The period under review: milestone reminders are still planned there, and the
    default definition leaves milestone edits direct (in the trial they need a change
    request, issue 31)."""
    with app.app_context():
        db.session.get(Engagement, engagement_id).state = "milestone_review"
        db.session.commit()


def _audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _day(d: date) -> str:
    return f"{d.day} {d:%b}"


# --- milestones ---------------------------------------------------------------------------


def _milestone_data(milestone_id, version, **overrides) -> dict:
    p = f"edit{milestone_id}"
    fields = {
        "title": "Day-60",
        "due_date": (TODAY + timedelta(days=20)).isoformat(),
        "success_criteria": "Metric +5%",
        "version": str(version),
        **overrides,
    }
    return {f"{p}-{k}": v for k, v in fields.items()}


def test_moving_a_milestone_due_date_replans_its_reminders_and_reads_as_a_sentence(
    client, app, engagement_id, milestone, post
):
    milestone_id, version = milestone
    new_due = TODAY + timedelta(days=34)
    data = _milestone_data(milestone_id, version, due_date=new_due.isoformat())
    in_trial = post(f"/milestones/{milestone_id}/edit", data, prefix=f"edit{milestone_id}")
    assert in_trial.status_code == 409  # contracted during the trial
    _into_review(app, engagement_id)
    response = post(f"/milestones/{milestone_id}/edit", data, prefix=f"edit{milestone_id}")
    assert response.status_code == 302
    with app.app_context():
        pending = reminders_for("milestone", milestone_id, "pending")
        assert pending and max(r.due_at for r in pending) == at(new_due)
        assert all(
            r.due_at <= at(new_due) and r.due_at != at(TODAY + timedelta(days=20)) for r in pending
        )
    old = TODAY + timedelta(days=20)
    assert f"Due date of 'Day-60' {_dates(old, new_due)}" in _audit_sentences(client, engagement_id)


def _dates(a: date, b: date) -> str:
    return (
        f"{_day(a)} → {_day(b)}" if a.year == b.year else f"{a.day} {a:%b %Y} → {b.day} {b:%b %Y}"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "  ", "This field is required."),
        ("due_date", "", "Give a due date."),
        ("due_date", "2001-01-01", "before the engagement started"),
        ("success_criteria", "", "This field is required."),
    ],
)
def test_each_bad_milestone_field_is_refused_keeping_the_rest(
    client, app, engagement_id, milestone, post, field, value, message
):
    milestone_id, version = milestone
    data = _milestone_data(milestone_id, version, **{"title": "Day-60 typed", field: value})
    if field == "title":
        data[f"edit{milestone_id}-success_criteria"] = "Typed criteria kept"
    before = _audit_count(app)
    response = post(f"/milestones/{milestone_id}/edit", data, prefix=f"edit{milestone_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert f'data-field="edit{milestone_id}-{field}"' in html
    kept = "Typed criteria kept" if field == "title" else 'value="Day-60 typed"'
    assert kept in html
    with app.app_context():
        stored = db.session.get(Milestone, milestone_id)
        assert (stored.title, stored.version) == ("Day-60", version)
    assert _audit_count(app) == before


def test_a_stale_milestone_save_is_refused_and_keeps_what_was_typed(
    client, app, engagement_id, milestone, post
):
    milestone_id, version = milestone
    first = _milestone_data(milestone_id, version, title="Renamed by the first")
    assert post(f"/milestones/{milestone_id}/edit", first).status_code == 302
    late = _milestone_data(milestone_id, version, title="Typed by the second")
    response = post(f"/milestones/{milestone_id}/edit", late)
    html = response.get_data(as_text=True)
    assert response.status_code == 412
    assert "since you loaded it" in html and 'value="Typed by the second"' in html
    with app.app_context():
        assert db.session.get(Milestone, milestone_id).title == "Renamed by the first"
    sentences = _audit_sentences(client, engagement_id)
    assert "Renamed 'Day-60' to 'Renamed by the first'" in sentences
    assert not any("Typed by the second" in s for s in sentences)


def test_a_milestone_is_edited_on_a_page_of_its_own(client, app, engagement_id, milestone, post):
    """The engagement page links each milestone to its edit page (issue 29): the page
    carries the form with the stored values and the remove form; a refusal (here the
    change request a trial needs) is answered on that page with what was typed."""
    milestone_id, version = milestone
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'href="/milestones/{milestone_id}/edit" data-testid="open-edit-milestone-' in page
    assert f'name="edit{milestone_id}-title"' not in page
    edit = client.get(f"/milestones/{milestone_id}/edit")
    html = edit.get_data(as_text=True)
    assert edit.status_code == 200
    assert f'name="edit{milestone_id}-title"' in html and 'value="Day-60"' in html
    assert f'name="edit{milestone_id}-version" value="{version}"' in html
    assert f'action="/milestones/{milestone_id}/remove"' in html
    assert f'href="/engagements/{engagement_id}#milestone-{milestone_id}"' in html
    moved = (TODAY + timedelta(days=34)).isoformat()  # contracted during the trial
    data = _milestone_data(milestone_id, version, title="Typed in the trial", due_date=moved)
    refused = post(f"/milestones/{milestone_id}/edit", data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert 'id="milestone-form"' in html and 'value="Typed in the trial"' in html
    assert 'data-testid="raise-change-request"' in html
    with app.app_context():
        assert db.session.get(Milestone, milestone_id).title == "Day-60"
    assert client.get("/milestones/999999/edit").status_code == 404


def test_removing_a_milestone_is_audited_and_a_stale_remove_changes_nothing(
    client, app, engagement_id, milestone, post
):
    milestone_id, version = milestone
    _into_review(app, engagement_id)
    stale = post(f"/milestones/{milestone_id}/remove", {"version": str(version + 5)})
    assert stale.status_code == 302
    with app.app_context():
        assert db.session.get(Milestone, milestone_id) is not None
    assert post(f"/milestones/{milestone_id}/remove", {"version": str(version)}).status_code == 302
    with app.app_context():
        assert db.session.get(Milestone, milestone_id) is None
    assert "Removed the milestone 'Day-60'" in _audit_sentences(client, engagement_id)
    again = post(f"/milestones/{milestone_id}/edit", _milestone_data(milestone_id, version))
    assert again.status_code == 404


def test_adding_a_milestone_reads_as_a_sentence(client, app, engagement_id, post):
    _into_review(app, engagement_id)
    due = TODAY + timedelta(days=40)
    data = {
        "milestone-title": "Day-40 canary",
        "milestone-due_date": due.isoformat(),
        "milestone-success_criteria": "Error rate < 1%",
    }
    assert (
        post(f"/engagements/{engagement_id}/milestones", data, prefix="milestone").status_code
        == 302
    )
    assert "Added the milestone 'Day-40 canary'" in _audit_sentences(client, engagement_id)


# --- checklist items ----------------------------------------------------------------------


def _item_data(item_id, version, **overrides) -> dict:
    p = f"item{item_id}"
    fields = {
        "title": "Accounts",
        "owner_id": "",
        "due_date": "",
        "note": "",
        "evidence": "",
        "version": str(version),
        **overrides,
    }
    return {f"{p}-{k}": v for k, v in fields.items()}


def test_editing_an_item_due_date_replans_its_reminders_and_names_the_change(
    client, app, engagement_id, item, post, manager
):
    item_id, version, title = item
    due = TODAY + timedelta(days=6)
    with app.app_context():
        old_owner = db.session.get(ChecklistItem, item_id).owner
        old_name = old_owner.name if old_owner else "none"
        new_owner = make_user("manager", name="Rosa Quint")
        new_owner_id = new_owner.id
    data = _item_data(
        item_id, version, title=title, due_date=due.isoformat(), owner_id=str(new_owner_id)
    )
    assert post(f"/checklist/{item_id}/edit", data).status_code == 302
    with app.app_context():
        pending = reminders_for("checklist", item_id, "pending")
        assert [(r.rule, r.due_at) for r in pending] == [
            ("checklist_due", at(due)),
            ("checklist_overdue", at(due + timedelta(days=1))),
        ]
        assert db.session.get(ChecklistItem, item_id).owner_id == new_owner_id
    sentences = _audit_sentences(client, engagement_id)
    entry = next(s for s in sentences if s.startswith("Owner of"))
    assert entry.startswith(f"Owner of '{title}' {old_name} → Rosa Quint")
    assert f"due date of '{title}' none → {due.day} {due:%b %Y}" in entry


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", " ", "This field is required."),
        ("evidence", "not a link", "Enter a full link"),
        ("due_date", "2001-02-03", "before the engagement started"),
        ("owner_id", "987654", "No such user."),
        ("note", "x" * 5001, "5000"),
    ],
)
def test_each_bad_item_field_is_refused_keeping_the_rest(
    client, app, engagement_id, item, post, field, value, message
):
    item_id, version, title = item
    data = _item_data(
        item_id, version, **{"title": "Typed title", "note": "Typed note kept", field: value}
    )
    before = _audit_count(app)
    response = post(f"/checklist/{item_id}/edit", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and f'data-field="item{item_id}-{field}"' in html
    if field != "title":
        assert 'value="Typed title"' in html
    if field != "note":
        assert "Typed note kept" in html
    with app.app_context():
        stored = db.session.get(ChecklistItem, item_id)
        assert (stored.title, stored.version, stored.note) == (title, version, "")
    assert _audit_count(app) == before


def test_a_stale_item_save_is_refused_and_keeps_what_was_typed(
    client, app, engagement_id, item, post
):
    item_id, version, title = item
    assert (
        post(f"/checklist/{item_id}/edit", _item_data(item_id, version, title="First")).status_code
        == 302
    )
    response = post(f"/checklist/{item_id}/edit", _item_data(item_id, version, title="Second"))
    html = response.get_data(as_text=True)
    assert response.status_code == 412
    assert "since you loaded it" in html and 'value="Second"' in html
    with app.app_context():
        assert db.session.get(ChecklistItem, item_id).title == "First"


def test_adding_an_item_with_a_bad_link_keeps_the_title(client, app, engagement_id, post):
    data = {
        "item-kind": "placement",
        "item-title": "Badge issued",
        "item-owner_id": "",
        "item-due_date": "",
        "item-note": "",
        "item-evidence": "ftp:/x",
    }
    before = _audit_count(app)
    response = post(f"/engagements/{engagement_id}/checklist", data, prefix="item")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Badge issued"' in html and 'data-field="item-evidence"' in html
    assert _audit_count(app) == before
    data["item-evidence"] = "https://tickets.example.com/B-1"
    assert post(f"/engagements/{engagement_id}/checklist", data, prefix="item").status_code == 302
    assert "Added the checklist item 'Badge issued'" in _audit_sentences(client, engagement_id)


def test_items_move_up_and_down_within_their_checklist(client, app, engagement_id, item, post):
    with app.app_context():
        first = db.session.get(ChecklistItem, item[0])
        kind = first.kind

        def order():
            db.session.expire_all()
            return list(
                db.session.scalars(
                    select(ChecklistItem.id)
                    .where(ChecklistItem.engagement_id == engagement_id, ChecklistItem.kind == kind)
                    .order_by(ChecklistItem.position, ChecklistItem.id)
                )
            )

        start = order()
        top = db.session.get(ChecklistItem, start[0])
        item_id, version, title = top.id, top.version, top.title
    assert len(start) >= 2
    assert post(f"/checklist/{item_id}/move/down", {"version": str(version)}).status_code == 302
    with app.app_context():
        moved = order()
        assert moved[:2] == [start[1], item_id] and sorted(moved) == sorted(start)
        version = db.session.get(ChecklistItem, item_id).version
    assert f"Moved '{title}' down (place 1 → 2)" in _audit_sentences(client, engagement_id)
    before = _audit_count(app)
    post(f"/checklist/{start[1]}/move/up", {"version": "999"})  # stale: nothing moves
    with app.app_context():
        assert order() == moved
    assert _audit_count(app) == before
    assert post(f"/checklist/{item_id}/move/up", {"version": str(version)}).status_code == 302
    with app.app_context():
        assert order() == start
    assert post(f"/checklist/{item_id}/move/sideways", {"version": "1"}).status_code == 404


def test_removing_an_item_is_audited_and_a_bound_item_stays(client, app, engagement_id, item, post):
    item_id, version, title = item
    assert post(f"/checklist/{item_id}/remove", {"version": str(version)}).status_code == 302
    with app.app_context():
        assert db.session.get(ChecklistItem, item_id) is None
        assert reminders_for("checklist", item_id, "pending") == []
        bound = db.session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.engagement_id == engagement_id, ChecklistItem.fact.is_not(None)
            )
        ).first()
        bound_id, bound_version = bound.id, bound.version
    assert f"Removed the checklist item '{title}'" in _audit_sentences(client, engagement_id)
    refused = post(f"/checklist/{bound_id}/remove", {"version": str(bound_version)})
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(ChecklistItem, bound_id) is not None
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'data-testid="remove-item-{bound_id}"' not in page


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("provider", 403), ("stakeholder", 404)])
def test_the_provider_and_a_stakeholder_may_not_edit_parts(
    client, app, sign_in, post, role, status
):
    with app.app_context():
        engagement = make_engagement(make_user("manager"), provider="Northwind ML")
        m = add_milestone(engagement, days=20, title="Day-60")
        row = db.session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.engagement_id == engagement.id, ChecklistItem.fact.is_(None)
            )
        ).first()
        milestone_id, item_id, engagement_id = m.id, row.id, engagement.id
        item_title, item_version = row.title, row.version
    sign_in(role, provider="Northwind ML" if role == "provider" else None)
    attempts = [
        (f"/milestones/{milestone_id}/edit", _milestone_data(milestone_id, 1, title="X")),
        (f"/milestones/{milestone_id}/remove", {"version": "1"}),
        (f"/checklist/{item_id}/edit", _item_data(item_id, item_version, title="X")),
        (f"/checklist/{item_id}/remove", {"version": str(item_version)}),
        (f"/checklist/{item_id}/move/down", {"version": str(item_version)}),
    ]
    before = _audit_count(app)
    for url, data in attempts:
        response = post(url, data, headers={"Accept": "text/html"})
        assert response.status_code == status, url
    add = post(
        f"/engagements/{engagement_id}/checklist",
        {"item-kind": "placement", "item-title": "X"},
        prefix="item",
        headers={"Accept": "text/html"},
    )
    assert add.status_code == status
    for url in (
        f"/checklist/{item_id}/edit",
        f"/engagements/{engagement_id}/checklist/new",
        f"/milestones/{milestone_id}/edit",
    ):
        assert client.get(url, headers={"Accept": "text/html"}).status_code == status, url
    with app.app_context():
        assert db.session.get(Milestone, milestone_id).title == "Day-60"
        assert db.session.get(ChecklistItem, item_id).title == item_title
    assert _audit_count(app) == before
    if role == "provider":
        page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
        assert f"/checklist/{item_id}/edit" not in page and "open-add-item" not in page
        assert f"/milestones/{milestone_id}/edit" not in page


def test_the_owner_is_picked_by_name_and_one_outside_the_choices_is_kept(
    client, app, engagement_id, item, post
):
    """The owner is a person picker (issue 29): suggestions are the client side and the
    provider's people; an owner set through the API outside them (a stakeholder) stays
    in the box, so a save keeps them; anyone else the text names is refused, nothing
    changed."""
    item_id, version, title = item
    with app.app_context():
        stakeholder = make_user("stakeholder", name="Sam Follower")
        db.session.get(ChecklistItem, item_id).owner_id = stakeholder.id
        other = make_user("provider", provider="Quanta", name="Quanta Person")
        db.session.commit()
        ids, emails = (stakeholder.id, other.id), (stakeholder.email, other.email)
        version = db.session.get(ChecklistItem, item_id).version
    html = client.get(f"/checklist/{item_id}/edit").get_data(as_text=True)
    box = html.split(f'name="item{item_id}-owner_id"', 1)[1].split(">", 1)[0]
    assert f'value="Sam Follower &lt;{emails[0]}&gt;"' in box and "<select" not in html
    owners = f"/engagements/{engagement_id}/checklist/owners"
    assert f'data-choices="{owners}"' in html and '<datalist id="people-choices">' in html
    offered = client.get(f"{owners}?q=").get_json()["items"]
    assert offered and not any("Quanta" in o or "Sam Follower" in o for o in offered)
    assert client.get(f"{owners}?page=x").status_code == 422
    data = _item_data(item_id, version, title=title)
    data[f"item{item_id}-owner_id"] = f"Quanta Person <{emails[1]}>"
    refused = post(f"/checklist/{item_id}/edit", data, prefix=f"item{item_id}")
    assert refused.status_code == 422
    assert f'data-field="item{item_id}-owner_id"' in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ChecklistItem, item_id).version == version  # nothing changed
    data[f"item{item_id}-owner_id"] = f"Sam Follower <{emails[0]}>"
    data[f"item{item_id}-note"] = "Kept owner"
    assert post(f"/checklist/{item_id}/edit", data, prefix=f"item{item_id}").status_code == 302
    with app.app_context():
        stored = db.session.get(ChecklistItem, item_id)
        assert (stored.owner_id, stored.note) == (ids[0], "Kept owner")


def test_items_are_edited_and_added_on_pages_of_their_own(client, app, engagement_id, item):
    """The engagement page links each item to its edit page (form, move and remove) and
    carries no owner picker; the add form is a page of its own too."""
    item_id, version, title = item
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'href="/checklist/{item_id}/edit" data-testid="open-edit-item-{item_id}"' in page
    assert f'href="/engagements/{engagement_id}/checklist/new"' in page
    section = page.split('id="checklists"', 1)[1].split("</section>", 1)[0]
    assert "<select" not in section and "<form" in section  # "Mark done" stays inline
    edit = client.get(f"/checklist/{item_id}/edit")
    html = edit.get_data(as_text=True)
    assert edit.status_code == 200
    assert f'name="item{item_id}-owner_id"' in html and f'value="{title}"' in html
    for action in ("move/up", "move/down", "remove"):
        assert f'action="/checklist/{item_id}/{action}"' in html, action
    add = client.get(f"/engagements/{engagement_id}/checklist/new").get_data(as_text=True)
    assert 'name="item-kind"' in add and 'name="item-owner_id"' in add
    assert client.get("/checklist/999999/edit").status_code == 404
