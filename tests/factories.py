"""Test data factories: call inside an app context; each commits what it makes."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import (
    AccessEntry,
    Artifact,
    ChecklistItem,
    Engagement,
    ExitConfirmation,
    Milestone,
    MilestoneTarget,
    SuccessMetric,
    TeamMember,
    User,
)
from tracker.services.administration import users as user_service
from tracker.services.staffing import engagements as engagement_service

PASSWORD = "kettle-ocean-57-lantern"  # meets the password policy (12+, not common)
_seq = itertools.count(1)


def make_user(
    role: str = "manager",
    *,
    provider: str | None = None,
    email: str | None = None,
    name: str | None = None,
    timezone: str = "UTC",
) -> User:
    """A user who can sign in with PASSWORD; provider users need a provider name."""
    n = next(_seq)
    if role == "provider" and provider is None:
        provider = "Northwind ML"
    return user_service.create_user(
        email=email or f"{role}{n}@example.com",
        name=name or f"{role.title()} {n}",
        role=role,
        password=PASSWORD,
        provider=provider,
        timezone=timezone,
    )


def make_engagement(
    owner: User | None = None, *, provider: str = "Northwind ML", title: str | None = None, **fields
) -> Engagement:
    """An engagement in discovery, with the standard checklists, via the real service."""
    owner = owner or make_user("manager")
    provider_org = user_service.get_or_create_provider(provider)
    db.session.commit()
    data = {
        "title": title or f"Engagement {next(_seq)}",
        "provider_id": provider_org.id,
        "structure": "pod_2",
        "owner_id": owner.id,
        "monthly_cost": 30000,
    }
    data.update(fields)
    return engagement_service.create_engagement(owner, data)


def add_member(
    engagement: Engagement, name: str = "Mara Quint", *, areas=("serving",), external: bool = True
) -> TeamMember:
    member = TeamMember(
        engagement_id=engagement.id,
        name=name,
        role="ml_engineer",
        is_external=external,
        areas=list(areas),
        allocation=100,
    )
    db.session.add(member)
    db.session.commit()
    return member


def add_milestone(
    engagement: Engagement,
    *,
    days: int = 30,
    criteria: str = "Metric +5%",
    period: int = 0,
    status: str = "planned",
    title: str | None = None,
) -> Milestone:
    milestone = Milestone(
        engagement_id=engagement.id,
        period=period,
        title=title or f"Day-{days} milestone",
        due_date=date.today() + timedelta(days=days),
        success_criteria=criteria,
        status=status,
    )
    db.session.add(milestone)
    db.session.commit()
    return milestone


def add_metric(
    engagement: Engagement,
    *,
    name: str = "Offline AUC",
    kind: str = "quality",
    direction: str = "higher",
    baseline: float | None = 0.78,
    unit: str = "",
) -> SuccessMetric:
    metric = SuccessMetric(
        engagement_id=engagement.id,
        name=name,
        kind=kind,
        direction=direction,
        baseline=baseline,
        unit=unit,
    )
    db.session.add(metric)
    db.session.commit()
    return metric


def add_target(milestone: Milestone, metric: SuccessMetric, target: float) -> MilestoneTarget:
    row = MilestoneTarget(milestone_id=milestone.id, metric_id=metric.id, target=target)
    db.session.add(row)
    db.session.commit()
    return row


def define_success_metrics(engagement: Engagement) -> SuccessMetric:
    """A metric with a baseline and a target on the trial's last milestone (one is added,
    due in 90 days, when the trial has none): the bound prerequisite then holds."""
    trial = db.session.scalars(
        select(Milestone)
        .where(Milestone.engagement_id == engagement.id, Milestone.period == 0)
        .where(Milestone.removed_at.is_(None))
        .order_by(Milestone.due_date.desc(), Milestone.id.desc())
    ).first()
    if trial is None:
        trial = add_milestone(engagement, days=90, criteria="Offline AUC >= 0.82")
    metric = add_metric(engagement)
    add_target(trial, metric, 0.82)
    return metric


def complete_checklist(engagement: Engagement, kind: str) -> None:
    """Every item of the kind done; items bound to facts get their facts made true."""
    if kind == "prerequisite":
        engagement.problem_statement = engagement.problem_statement or "Cut forecast error"
        engagement.technical_contact_id = engagement.technical_contact_id or engagement.owner_id
        define_success_metrics(engagement)
    if kind == "placement":  # every external member has an access register entry
        _register_access(engagement)
    if kind == "knowledge_transfer":  # the overview and the recordings are artifacts
        _confirm_exit(engagement)
        _close_access(engagement)
        for artifact_kind in ("architecture_overview", "recording"):
            db.session.add(
                Artifact(
                    engagement_id=engagement.id,
                    kind=artifact_kind,
                    title=artifact_kind.replace("_", " ").capitalize(),
                    url=f"https://wiki.example.com/{artifact_kind}",
                    owner_id=engagement.owner_id,
                )
            )
    for item in db.session.scalars(
        select(ChecklistItem).where(
            ChecklistItem.engagement_id == engagement.id, ChecklistItem.kind == kind
        )
    ):
        item.status = "done"
    db.session.commit()


def _register_access(engagement: Engagement) -> None:
    """An access entry for each external member who has none (the placement item's fact)."""
    listed = set(
        db.session.scalars(
            select(AccessEntry.member_id).where(AccessEntry.engagement_id == engagement.id)
        )
    )
    for member in db.session.scalars(
        select(TeamMember).where(TeamMember.engagement_id == engagement.id)
    ):
        if member.is_external and member.id not in listed:
            db.session.add(
                AccessEntry(
                    engagement_id=engagement.id,
                    member_id=member.id,
                    system="GitHub org acme-ml",
                    kind="code_repository",
                    account=member.name.lower().replace(" ", "-"),
                    granted_by_id=engagement.owner_id,
                )
            )


def _close_access(engagement: Engagement) -> None:
    """Every access entry revoked by the owner and verified by somebody else (an entry for
    the register's sake when it is empty: an empty register proves nothing)."""
    from tracker.core import clock

    entries = db.session.scalars(
        select(AccessEntry).where(AccessEntry.engagement_id == engagement.id)
    ).all()
    if not entries:
        member = db.session.scalar(
            select(TeamMember).where(TeamMember.engagement_id == engagement.id).limit(1)
        ) or add_member(engagement, "Access Holder", areas=(), external=False)
        entries = [
            AccessEntry(
                engagement_id=engagement.id,
                member_id=member.id,
                system="GitHub org acme-ml",
                kind="code_repository",
                account="access-holder",
            )
        ]
        db.session.add_all(entries)
    verifier = make_user("manager")
    for entry in entries:
        if entry.revoked_at is None:
            entry.revoked_at, entry.revoked_by_id = clock.now(), engagement.owner_id
        if entry.verified_at is None:
            entry.verified_at, entry.verified_by_id = clock.now(), verifier.id
            entry.verify_how = "checked the GitHub org members list"


def _confirm_exit(engagement: Engagement) -> None:
    """Where repositories and artifacts went (the bound 'access handed over' item's fact)."""
    exists = db.session.scalar(
        select(ExitConfirmation.id).where(ExitConfirmation.engagement_id == engagement.id)
    )
    if exists is None:
        db.session.add(
            ExitConfirmation(
                engagement_id=engagement.id,
                artifacts_transferred_to="https://github.com/acme/ml (org acme)",
                artifacts_confirmed_by_id=engagement.owner_id,
            )
        )
