"""ADR service: numbering, permissions, decisions, supersede links, history, safe Markdown."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.factories import make_engagement, make_user
from tracker.errors import Conflict, Forbidden, NotFound, StaleVersion, ValidationFailed
from tracker.extensions import db
from tracker.models import Adr
from tracker.services.knowledge import adrs


@pytest.fixture
def people(ctx):
    manager = make_user("manager")
    provider = make_user("provider", provider="Northwind ML")
    engagement = make_engagement(manager, provider="Northwind ML")
    return manager, provider, engagement


def test_numbers_are_sequential_per_engagement(people):
    manager, provider, engagement = people
    other = make_engagement(manager)
    first = adrs.create_adr(provider, engagement.id, {"title": "Use Postgres"})
    second = adrs.create_adr(manager, engagement.id, {"title": "Use Redis"})
    elsewhere = adrs.create_adr(manager, other.id, {"title": "Use S3"})
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert first.status == "proposed" and first.author_id == provider.id


def test_provider_may_propose_but_not_accept(people):
    manager, provider, engagement = people
    adr = adrs.create_adr(provider, engagement.id, {"title": "Use Kafka"})
    with pytest.raises(Forbidden):
        adrs.decide_adr(provider, adr.id, "accepted")
    with pytest.raises(Forbidden):
        adrs.create_adr(provider, engagement.id, {"title": "Sneaky", "status": "accepted"})
    assert db.session.get(Adr, adr.id).status == "proposed"
    assert adrs.decide_adr(manager, adr.id, "accepted").status == "accepted"


def test_other_providers_adrs_do_not_exist_for_them(people):
    manager, provider, engagement = people
    adr = adrs.create_adr(manager, engagement.id, {"title": "Private"})
    outsider = make_user("provider", provider="Quanta Labs")
    with pytest.raises(NotFound):
        adrs.get_adr(outsider, adr.id)
    with pytest.raises(NotFound):
        adrs.create_adr(outsider, engagement.id, {"title": "Intrude"})
    with pytest.raises(NotFound):
        adrs.list_adrs(outsider, engagement.id)


def test_provider_edits_only_own_drafts(people):
    manager, provider, engagement = people
    colleague = make_user("provider", provider="Northwind ML")
    adr = adrs.create_adr(provider, engagement.id, {"title": "Draft"})
    adrs.update_adr(provider, adr.id, {"context": "We need queues."}, expected_version=1)
    with pytest.raises(Forbidden):
        adrs.update_adr(colleague, adr.id, {"context": "Hijacked"})
    adrs.decide_adr(manager, adr.id, "accepted")
    with pytest.raises(Forbidden):
        adrs.update_adr(provider, adr.id, {"context": "After the fact"})
    assert db.session.get(Adr, adr.id).context == "We need queues."


def test_stale_version_is_refused(people):
    manager, _, engagement = people
    adr = adrs.create_adr(manager, engagement.id, {"title": "Draft"})
    adrs.update_adr(manager, adr.id, {"title": "Draft 2"}, expected_version=adr.version)
    with pytest.raises(StaleVersion):
        adrs.update_adr(manager, adr.id, {"title": "Draft 3"}, expected_version=1)
    assert db.session.get(Adr, adr.id).title == "Draft 2"


def test_accepting_a_superseder_marks_the_old_one_superseded(people):
    manager, provider, engagement = people
    old = adrs.create_adr(manager, engagement.id, {"title": "Use MySQL", "status": "accepted"})
    new = adrs.create_adr(
        provider, engagement.id, {"title": "Use Postgres", "supersedes_id": old.id}
    )
    assert db.session.get(Adr, old.id).status == "accepted"  # a proposal changes nothing yet
    adrs.decide_adr(manager, new.id, "accepted")
    old = db.session.get(Adr, old.id)
    assert old.status == "superseded"
    assert [a.number for a in old.superseded_by] == [2]
    assert [r.change for r in old.revisions] == ["created", "accepted", "superseded"]
    assert old.revisions[-1].snapshot["status"] == "superseded"


def test_the_list_links_supersessions_both_ways_in_one_statement(people, query_counter):
    """The engagement's list is one statement whatever its links: each ADR's older and
    newer ADRs come from the list itself (the page read them with a scan of every ADR)."""
    manager, provider, engagement = people
    old = adrs.create_adr(manager, engagement.id, {"title": "Use MySQL", "status": "accepted"})
    adrs.create_adr(manager, engagement.id, {"title": "Use Redis"})
    adrs.create_adr(provider, engagement.id, {"title": "Use Postgres", "supersedes_id": old.id})
    adrs.create_adr(manager, engagement.id, {"title": "Use SQLite", "supersedes_id": old.id})
    other = make_engagement(manager)
    adrs.create_adr(manager, other.id, {"title": "Elsewhere", "status": "accepted"})
    provider_name, engagement_id = provider.name, engagement.id
    db.session.commit()
    db.session.expunge_all()
    with query_counter() as counter:
        found = adrs.engagement_adrs(engagement_id)
        links = {
            a.number: (
                a.supersedes.number if a.supersedes else None,
                [n.number for n in a.superseded_by],
            )
            for a in found
        }
        authors = {a.number: a.author.name for a in found}
    assert counter.count == 1
    assert links == {1: (None, [3, 4]), 2: (None, []), 3: (1, []), 4: (1, [])}
    assert authors[3] == provider_name


def test_only_accepted_adrs_can_be_superseded(people):
    manager, _, engagement = people
    draft = adrs.create_adr(manager, engagement.id, {"title": "Draft"})
    with pytest.raises(ValidationFailed) as error:
        adrs.create_adr(manager, engagement.id, {"title": "X", "supersedes_id": draft.id})
    assert "supersedes_id" in error.value.errors
    assert adrs.next_number(engagement.id) == 2  # nothing half-created


def test_invalid_decision_is_a_conflict_and_changes_nothing(people):
    manager, _, engagement = people
    adr = adrs.create_adr(manager, engagement.id, {"title": "Draft"})
    with pytest.raises(Conflict):
        adrs.decide_adr(manager, adr.id, "deprecated")
    adrs.decide_adr(manager, adr.id, "rejected")
    with pytest.raises(Conflict):
        adrs.decide_adr(manager, adr.id, "accepted")
    assert db.session.get(Adr, adr.id).status == "rejected"


def test_history_keeps_every_change(people):
    manager, provider, engagement = people
    adr = adrs.create_adr(provider, engagement.id, {"title": "Draft"})
    adrs.update_adr(provider, adr.id, {"title": "Better draft"})
    adrs.decide_adr(manager, adr.id, "accepted", note="Agreed in the design review")
    revisions = adrs.history(manager, adr.id)
    assert [r.change for r in revisions] == ["created", "edited", "accepted"]
    assert [r.snapshot["title"] for r in revisions] == ["Draft", "Better draft", "Better draft"]
    assert revisions[-1].snapshot["note"] == "Agreed in the design review"


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "Hi <img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
    ],
)
def test_markdown_with_script_is_rendered_inert(source):
    tags = _tags(str(adrs.render_markdown(source)))
    assert "script" not in [name for name, _ in tags]
    attributes = [(key, value or "") for _, attrs in tags for key, value in attrs]
    assert not [key for key, _ in attributes if key.startswith("on")]
    assert not [v for key, v in attributes if key == "href" and "javascript" in v.lower()]


def _tags(html: str) -> list:
    """Every real element the browser would build from the HTML (escaped text is not one)."""
    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_markdown_formatting_survives():
    html = str(adrs.render_markdown("**bold** and [docs](https://example.com)\n\n- a\n- b"))
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.com"' in html and "<li>a</li>" in html
