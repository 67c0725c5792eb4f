"""Shared model building blocks: the declarative base, enums and timestamp columns."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Mapped, mapped_column

from tracker.core import clock
from tracker.db_setup import UTCDateTime
from tracker.extensions import db

Model = db.Model


class Role(StrEnum):
    """What a user is to the deployment; decides what they may see and do."""

    ADMIN = "admin"
    MANAGER = "manager"
    PROVIDER = "provider"
    STAKEHOLDER = "stakeholder"
    # Reads every engagement, its audit trail (with the change details) and the
    # deployment's audit export; changes nothing (docs/adr/0228).
    AUDITOR = "auditor"


class Structure(StrEnum):
    """How the provider's people are arranged in the engagement."""

    SINGLE_SPECIALIST = "single_specialist"
    POD_2 = "pod_2"
    POD_4 = "pod_4"
    FRACTIONAL_LEAD = "fractional_lead"


class MemberRole(StrEnum):
    """The role a team member plays."""

    ML_ENGINEER = "ml_engineer"
    LLM_INTEGRATION_SPECIALIST = "llm_integration_specialist"
    DATA_ENGINEER = "data_engineer"
    MLOPS_ENGINEER = "mlops_engineer"
    CV_ENGINEER = "cv_engineer"
    AI_PRODUCT_MANAGER = "ai_product_manager"
    FRACTIONAL_ML_LEAD = "fractional_ml_lead"
    INTERNAL_ENGINEER = "internal_engineer"


class ChecklistKind(StrEnum):
    """Which checklist an item belongs to.

    `knowledge_transfer` is a checklist (PRODUCT.md's knowledge-transfer checklist), not
    a state: it is stored, part of the API, and what definitions' guards name
    (`checklist_complete`, kind = "knowledge_transfer"). That the default definition
    also has a state of that spelling is the definition's choice; no code here compares
    a state with it.
    """

    PREREQUISITE = "prerequisite"
    PLACEMENT = "placement"
    KNOWLEDGE_TRANSFER = "knowledge_transfer"


class ChecklistStatus(StrEnum):
    """Where a checklist item stands; done and not_applicable both complete it."""

    OPEN = "open"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


class MilestoneStatus(StrEnum):
    """A milestone's status: the provider reports progress up to "done" (awaiting the
    verdict); met and missed are the final verdict, given by a manager or an admin."""

    PLANNED = "planned"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BLOCKED = "blocked"
    DONE = "done"
    MET = "met"
    MISSED = "missed"


FINAL_MILESTONE_STATUSES = frozenset({MilestoneStatus.MET, MilestoneStatus.MISSED})
# What a provider may report; the verdicts are the client side's.
PROGRESS_MILESTONE_STATUSES = tuple(s for s in MilestoneStatus if s not in FINAL_MILESTONE_STATUSES)


class Health(StrEnum):
    """Red/amber/green, derived from the data (or overridden by a manager)."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


# Health worst first: what "sort by health" means everywhere. Stored beside the effective
# health as `Engagement.health_rank` (an indexed integer), so a health-ranked page is an
# index range scan with a LIMIT instead of a sort of every live row (docs/adr/0239).
HEALTH_RANKS = {Health.RED.value: 0, Health.AMBER.value: 1, Health.GREEN.value: 2}
UNKNOWN_HEALTH_RANK = len(HEALTH_RANKS)


def health_rank(value: str | None) -> int:
    """The sort rank of an effective health: red 0, amber 1, green 2, anything else last."""
    return HEALTH_RANKS.get(str(value) if value is not None else "", UNKNOWN_HEALTH_RANK)


def label(value: str) -> str:
    """Turn an enum value into words for people ("on_track" -> "On track")."""
    special = {
        "pod_2": "2-person pod",
        "pod_4": "4-person pod",
        "mlops_engineer": "ML ops engineer",
        "ml_engineer": "ML engineer",
        "llm_integration_specialist": "LLM integration specialist",
        "cv_engineer": "Computer-vision engineer",
        "ai_product_manager": "AI product manager",
        "fractional_ml_lead": "Fractional ML lead",
        "vpn": "VPN",
    }
    if value in special:
        return special[value]
    return str(value).replace("_", " ").capitalize()


def created_at_column() -> Mapped[datetime]:
    """A non-null creation timestamp defaulting to now (evaluated per row)."""
    return mapped_column(UTCDateTime(), default=clock.now, nullable=False)
