"""The demo data set: a few providers and engagements in every lifecycle state.

Dates are relative to today so a fresh demo always has something due soon,
something overdue, and a trial about to end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from tracker.core import clock
from tracker.extensions import db
from tracker.models import (
    FINAL_MILESTONE_STATUSES,
    AuditEvent,
    ChecklistItem,
    ChecklistStatus,
    Engagement,
    Milestone,
    MilestoneUpdate,
    TeamMember,
    User,
)
from tracker.services.administration import users as user_service
from tracker.services.delivery import checklists
from tracker.services.staffing.engagements import add_standard_checklists
from tracker.services.workflow.workflow_registry import latest_definition

DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    {"email": "admin@example.com", "name": "Ada Admin", "role": "admin"},
    {"email": "manager@example.com", "name": "Dana Lee", "role": "manager"},
    {"email": "manager2@example.com", "name": "Sam Okafor", "role": "manager"},
    {
        "email": "stakeholder@example.com",
        "name": "Stella Park",
        "role": "stakeholder",
        "timezone": "Europe/Helsinki",
    },
    {"email": "engineer@example.com", "name": "Ivan Petrov", "role": "stakeholder"},
    {
        "email": "priya@northwind.example",
        "name": "Priya Raman",
        "role": "provider",
        "provider": "Northwind ML",
    },
    {
        "email": "leo@quanta.example",
        "name": "Leo Marsh",
        "role": "provider",
        "provider": "Quanta Labs",
    },
    # reads everything and changes nothing (ADR 0228): the audit export and every page
    {"email": "auditor@example.com", "name": "Avery Auditor", "role": "auditor"},
]

# title, provider, structure, owner email, state, day of trial/period (None = not started)
DEMO_ENGAGEMENTS = [
    ("Fraud model refresh", "Northwind ML", "pod_2", "manager@example.com", "discovery", None),
    ("Demand forecasting pod", "Northwind ML", "pod_4", "manager@example.com", "trial", 40),
    (
        "LLM support assistant",
        "Quanta Labs",
        "single_specialist",
        "manager2@example.com",
        "trial",
        83,
    ),
    (
        "Vision QA for the packing line",
        "Quanta Labs",
        "pod_2",
        "manager@example.com",
        "milestone_review",
        92,
    ),
    (
        "Search ranking uplift",
        "Northwind ML",
        "single_specialist",
        "manager2@example.com",
        "extension",
        150,
    ),
    (  # a fractional lead kept on for over a year: the demo's hiring evaluation (issue 31)
        "ML platform leadership",
        "Quanta Labs",
        "fractional_lead",
        "manager2@example.com",
        "extension",
        395,
    ),
    (
        "Churn model handover",
        "Quanta Labs",
        "pod_2",
        "manager@example.com",
        "knowledge_transfer",
        200,
    ),
    (
        "Recommendations pilot",
        "Northwind ML",
        "fractional_lead",
        "manager2@example.com",
        "closed",
        120,
    ),
]

MEMBERS = {
    "pod_2": [
        ("Mara Quint", "ml_engineer", ["feature store", "training pipeline"]),
        ("Tom Ruiz", "mlops_engineer", ["model serving"]),
    ],
    "pod_4": [
        ("Ola Berg", "ml_engineer", ["forecast model"]),
        ("Kenji Sato", "data_engineer", ["ingestion jobs"]),
        ("Rita Gomes", "mlops_engineer", ["deployment"]),
        ("Ben Adler", "ai_product_manager", ["roadmap"]),
    ],
    "single_specialist": [("Nina Volk", "llm_integration_specialist", ["prompt pipeline"])],
    "fractional_lead": [("Arun Mehta", "fractional_ml_lead", ["ML strategy"])],
}


# Who the admin audit trail says created the demo's users and organisations.
SEEDER_LABEL = "Demo data (flask seed-demo)"


def seed_demo(today: date | None = None) -> bool:
    """Load the demo once; returns False (and changes nothing) when it is already there."""
    if db.session.scalar(select(User.id).where(User.email == DEMO_USERS[0]["email"])):
        return False
    today = today or clock.now().date()
    people = {row["email"]: _demo_user(row) for row in DEMO_USERS}
    db.session.flush()
    for spec in DEMO_ENGAGEMENTS:
        _demo_engagement(spec, people, today)
    db.session.commit()
    _after_seed_hooks(today)
    return True


def _demo_user(row: dict) -> User:
    return user_service.create_user(
        email=row["email"],
        name=row["name"],
        role=row["role"],
        password=DEMO_PASSWORD,
        provider=row.get("provider"),
        timezone=row.get("timezone", "UTC"),
        commit=False,
        recorded_as=SEEDER_LABEL,
    )


def _demo_engagement(spec, people: dict[str, User], today: date) -> Engagement:
    title, provider_name, structure, owner_email, state, day = spec
    definition = latest_definition()
    owner = people[owner_email]
    provider = user_service.get_or_create_provider(provider_name, SEEDER_LABEL)
    engagement = Engagement(
        title=title,
        provider_id=provider.id,
        structure=structure,
        owner_id=owner.id,
        technical_contact_id=people["engineer@example.com"].id,
        problem_statement=f"{title}: reduce manual work and improve the key metric by 10%.",
        success_criteria="Offline metric beats the baseline by 10%; shipped behind a flag.",
        internal_notes="Budget approved by finance until year end.",
        monthly_cost=Decimal(18000 if structure == "single_specialist" else 34000),
        state=state,
        workflow_name=definition.name,
        workflow_version=definition.version,
        workflow_hash=definition.content_hash,
    )
    _set_dates(engagement, today, day)
    db.session.add(engagement)
    db.session.flush()
    engagement.followers.append(people["stakeholder@example.com"])
    for name, role, areas in MEMBERS[structure]:
        db.session.add(
            TeamMember(
                engagement_id=engagement.id,
                name=name,
                role=role,
                areas=areas,
                allocation=100,
                is_external=True,
                start_date=engagement.trial_start,
            )
        )
    add_standard_checklists(engagement, owner_id=owner.id)
    db.session.flush()
    _complete_checklists(engagement, owner, today)
    _demo_milestones(engagement, people, today)
    _demo_audit(engagement, owner, today)
    # Items bound to facts (technical contact, problem statement…) follow the data.
    checklists.sync_bound_items(engagement)
    return engagement


def _set_dates(engagement: Engagement, today: date, day: int | None) -> None:
    if day is None:
        engagement.discovery_start = today - timedelta(days=12)
        return
    start = today - timedelta(days=day)
    engagement.discovery_start = start - timedelta(days=21)
    engagement.trial_start = start
    engagement.trial_end = start + timedelta(days=90)
    engagement.period_start, engagement.period_end = start, engagement.trial_end
    if engagement.state in ("extension", "knowledge_transfer", "closed") and day > 90:
        # six months, or twelve for one still in its extension after more than that
        months = 12 if day > 90 + 183 else 6
        engagement.current_period = 1
        engagement.period_start = engagement.trial_end
        engagement.period_end = engagement.trial_end + timedelta(days=round(months * 30.4375))
        engagement.review_summary = (
            f"Trial met 2 of 3 milestones; extended for {'twelve' if months == 12 else 'six'} "
            "months."
        )
    if engagement.state == "closed":
        engagement.outcome = "completed"
        engagement.closed_at = datetime.combine(today - timedelta(days=3), time(12), UTC)


def _complete_checklists(engagement: Engagement, owner: User, today: date) -> None:
    """Everything done past discovery; discovery and KT are left half-way."""
    items = db.session.scalars(
        select(ChecklistItem).where(ChecklistItem.engagement_id == engagement.id)
    ).all()
    for index, item in enumerate(items):
        is_kt = item.kind == "knowledge_transfer"
        # Knowledge-transfer work is only scheduled once the wind-down begins.
        item.due_date = None if is_kt else engagement.discovery_start + timedelta(days=14 + index)
        done = not is_kt or engagement.state == "closed"
        if engagement.state == "discovery":
            done = item.kind == "prerequisite" and item.key in ("problem_statement",)
            item.due_date = None if is_kt else today + timedelta(days=index - 2)  # some overdue
        if engagement.state == "knowledge_transfer" and item.kind == "knowledge_transfer":
            done = item.key in ("architecture_overview", "access_handover")
            item.due_date = today + timedelta(days=7)
        if done:
            item.status = ChecklistStatus.DONE
            item.completed_by_id = owner.id
            item.completed_at = clock.now() - timedelta(days=5)


def _demo_milestones(engagement: Engagement, people: dict[str, User], today: date) -> None:
    if engagement.trial_start is None:
        db.session.add(
            Milestone(
                engagement_id=engagement.id,
                period=0,
                title="Day-30 baseline",
                due_date=today + timedelta(days=40),
                success_criteria="Baseline model and eval harness reproduce last quarter's metric.",
            )
        )
        return
    provider_user = next(u for u in people.values() if u.provider_id == engagement.provider_id)
    for offset in (30, 60, 90):
        due = engagement.trial_start + timedelta(days=offset)
        status = _demo_status(engagement, due, today, offset)
        milestone = Milestone(
            engagement_id=engagement.id,
            period=0,
            title=f"Day-{offset} milestone",
            due_date=due,
            status=status,
            success_criteria=f"Day {offset}: agreed metric improves by {offset // 10}% offline.",
        )
        db.session.add(milestone)
        db.session.flush()
        if status != "planned":
            _demo_update(milestone, provider_user, status, today)
    if engagement.title.startswith("Demand"):
        _demo_weekly_work(engagement, provider_user, today)
    if engagement.state == "extension":
        _demo_extension_milestones(engagement, provider_user, today)


def _demo_extension_milestones(engagement: Engagement, author: User, today: date) -> None:
    """The extension period's own checkpoints, the first already met."""
    for offset in (30, 60, 90):
        due = engagement.period_start + timedelta(days=offset)
        milestone = Milestone(
            engagement_id=engagement.id,
            period=1,
            due_date=due,
            title=f"Extension 1 day-{offset} milestone",
            status="met" if due < today else "planned",
            success_criteria=f"Online A/B test: +{offset // 30}% click-through at equal latency.",
        )
        db.session.add(milestone)
        db.session.flush()
        if milestone.status == "met":
            _demo_update(milestone, author, "met", today)


def _demo_weekly_work(engagement: Engagement, author: User, today: date) -> None:
    """Two extra checkpoints so a first scheduler tick has provider reminders to send;
    the one the provider called on track was said in a dated update, as any claim is."""
    for title, days, status, criteria in (
        (
            "Feature pipeline in staging",
            -2,
            "on_track",
            "Nightly features land in staging by 06:00.",
        ),
        ("Backtest report", 6, "planned", "Backtest over 2024–2025 beats the baseline MAPE by 8%."),
    ):
        milestone = Milestone(
            engagement_id=engagement.id,
            period=0,
            title=title,
            status=status,
            due_date=today + timedelta(days=days),
            success_criteria=criteria,
        )
        db.session.add(milestone)
        if status != "planned":
            db.session.flush()
            _demo_update(milestone, author, status, today)


def _demo_status(engagement: Engagement, due: date, today: date, offset: int) -> str:
    if engagement.state == "closed" or (engagement.state != "trial" and due < today):
        return "missed" if offset == 60 and engagement.state == "milestone_review" else "met"
    if due < today:
        return "met" if offset == 30 and engagement.title.startswith("Demand") else "on_track"
    if engagement.title.startswith("LLM"):
        return "at_risk"
    return "on_track" if due - today < timedelta(days=30) else "planned"


def _demo_update(milestone: Milestone, author: User, status: str, today: date) -> None:
    """The provider's report; a met/missed milestone was reported done by the provider
    the day before it was due and judged by the engagement's owner two days later
    (verdicts are the client side's). A report dated days ago for a milestone due months
    ago made every met milestone "late" on the provider's record. A claim still open was
    made by the day before the due date at the latest: one dated weeks after the due date
    ("said On track" on work long overdue) contradicted the dates beside it."""
    milestone.last_update_at = clock.now() - timedelta(days=3)
    final = status in FINAL_MILESTONE_STATUSES
    if not final:
        before_due = datetime.combine(milestone.due_date - timedelta(days=1), time(12), UTC)
        milestone.last_update_at = min(milestone.last_update_at, before_due)
    if final:
        judged = datetime.combine(milestone.due_date + timedelta(days=2), time(12), UTC)
        milestone.last_update_at = min(milestone.last_update_at, judged)
    db.session.add(
        MilestoneUpdate(
            milestone_id=milestone.id,
            author_id=author.id,
            from_status="planned",
            status="done" if final else status,
            note="Weekly status: evaluation numbers attached.",
            evidence=["https://wiki.example.com/ml/eval-report"],
            created_at=milestone.last_update_at - (timedelta(days=3) if final else timedelta()),
        )
    )
    if final:
        owner_id = db.session.get(Engagement, milestone.engagement_id).owner_id
        milestone.verdict_by_id, milestone.verdict_at = owner_id, milestone.last_update_at
        db.session.add(
            MilestoneUpdate(
                milestone_id=milestone.id,
                author_id=owner_id,
                from_status="done",
                status=status,
                note="Verdict at the review against the success criteria.",
                evidence=[],
                created_at=milestone.last_update_at,
            )
        )


def _demo_audit(engagement: Engagement, owner: User, today: date) -> None:
    start = datetime.combine(engagement.discovery_start, time(9), UTC)
    db.session.add(
        AuditEvent(
            engagement_id=engagement.id,
            actor_id=owner.id,
            actor_label=owner.name,
            kind="created",
            to_state="discovery",
            workflow_version=engagement.workflow_version,
            created_at=start,
        )
    )
    path = ["discovery", "trial", "milestone_review", "extension", "knowledge_transfer", "closed"]
    if engagement.state not in path or engagement.state == "discovery":
        return
    steps = path[: path.index(engagement.state) + 1]
    if engagement.current_period == 0 and "extension" in steps:
        steps.remove("extension")
    for i, (frm, to) in enumerate(zip(steps, steps[1:], strict=False)):
        db.session.add(
            AuditEvent(
                engagement_id=engagement.id,
                actor_id=owner.id,
                actor_label=owner.name,
                kind="transition",
                event=DEMO_EVENTS[to],
                from_state=frm,
                to_state=to,
                workflow_version=engagement.workflow_version,
                created_at=start + timedelta(days=21 + 30 * i),
            )
        )


DEMO_EVENTS = {
    "trial": "start_trial",
    "milestone_review": "begin_review",
    "extension": "extend",
    "knowledge_transfer": "begin_knowledge_transfer",
    "closed": "close",
}

# Feature modules that add their own demo data: "module:function", called with today.
DEMO_EXTENSIONS: list[str] = [
    "tracker.demo.digests:seed",
    "tracker.demo.knowledge:seed",
    "tracker.demo.evidence:seed",
    "tracker.demo.handover:seed",
    "tracker.demo.change_requests:seed",
    "tracker.demo.portfolio:seed",
    "tracker.services.workflow.timers:seed_demo_timers",
]


def _after_seed_hooks(today: date) -> None:
    """Let each feature add its demo data (ADRs, subscriptions, reminders) and commit."""
    import importlib

    for target in DEMO_EXTENSIONS:
        module_name, _, function = target.partition(":")
        getattr(importlib.import_module(module_name), function)(today)
    db.session.commit()
    # Health is cached on each engagement; compute it once so the first dashboard is right.
    from tracker.demo.health_history import seed as seed_health_history
    from tracker.services.judgments.health import refresh_all

    refresh_all()
    # Loaded at once, the engagements have no past: give each a plausible one (a strip).
    seed_health_history(today)
    db.session.commit()
