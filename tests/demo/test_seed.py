"""seed-demo: realistic and idempotent."""

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import ChecklistItem, Engagement, Milestone, TeamMember, User


def _counts():
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Engagement, ChecklistItem, Milestone, TeamMember)
    }


def test_seed_demo_covers_every_state_and_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded." in first.output
    with app.app_context():
        before = _counts()
        states = set(db.session.scalars(select(Engagement.state)))
    assert {
        "discovery",
        "trial",
        "milestone_review",
        "extension",
        "knowledge_transfer",
        "closed",
    } <= states
    assert before["Engagement"] >= 6 and before["Milestone"] >= 10
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "already present" in second.output
    with app.app_context():
        assert _counts() == before


def test_demo_logins_work(load_demo, auth):
    load_demo()
    response = auth.login("priya@northwind.example", "demo-password")
    assert response.status_code == 302


def test_seed_demo_computes_health_so_the_first_dashboard_is_not_all_green(app, load_demo):
    load_demo()
    with app.app_context():
        colours = set(db.session.scalars(select(Engagement.health)))
    assert {"red", "amber"} <= colours


def test_every_demo_claim_shows_with_its_date(app, load_demo):
    """A provider's status is shown as a claim beside its date: the demo records each
    claim as a dated update, so no page says "(no date recorded)"."""
    from tracker.core import clock
    from tracker.services.milestone_status.displayed import displayed_status

    load_demo()
    with app.app_context():
        today = clock.now().date()
        claims = {
            m.title: displayed_status(m, today) for m in db.session.scalars(select(Milestone))
        }
        claimed = {title: shown for title, shown in claims.items() if shown.claim_status}
        assert "Feature pipeline in staging" in claimed
        undated = [title for title, shown in claimed.items() if shown.claimed_on is None]
        assert undated == []


def test_every_demo_claim_is_dated_no_later_than_its_milestone_is_due(app, load_demo):
    """A provider's claim is made while the work is due, not weeks after (the demo once
    showed "Provider said On track, 3 Dec" beside a milestone due on 14 Oct); a verdict
    follows the claim, never precedes it."""
    from tracker.models import MilestoneUpdate

    load_demo()
    with app.app_context():
        rows = db.session.execute(
            select(Milestone, MilestoneUpdate, User)
            .join(MilestoneUpdate, MilestoneUpdate.milestone_id == Milestone.id)
            .join(User, User.id == MilestoneUpdate.author_id)
        ).all()
        claims = [(m, u) for m, u, author in rows if author.provider_id is not None]
        verdicts = [(m, u) for m, u, author in rows if author.provider_id is None]
        assert claims and verdicts
        late = [
            (m.title, m.due_date, u.created_at.date())
            for m, u in claims
            if u.created_at.date() > m.due_date
        ]
        assert late == []
        first_claim = {}
        for m, u in sorted(claims, key=lambda pair: pair[1].created_at):
            first_claim.setdefault(m.id, u.created_at)
        assert all(u.created_at >= first_claim.get(m.id, u.created_at) for m, u in verdicts)


def test_the_demo_has_an_auditor_who_reads_and_cannot_change(load_demo, client, auth):
    """Every role can be tried by hand from the seed, the auditor included."""
    load_demo()
    assert auth.login("auditor@example.com", "demo-password").status_code == 302
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "LLM support assistant" in dashboard and 'data-testid="role">Auditor<' in dashboard
    assert client.get("/admin/audit").status_code == 200
    assert client.get("/engagements/new").status_code in (403, 404)
