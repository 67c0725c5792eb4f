"""The domain model: import every model here so metadata and Alembic see them all."""

from tracker.models.audit import AuditEvent, WorkflowDefinitionRecord
from tracker.models.base import (
    FINAL_MILESTONE_STATUSES,
    PROGRESS_MILESTONE_STATUSES,
    ChecklistKind,
    ChecklistStatus,
    Health,
    MemberRole,
    MilestoneStatus,
    Role,
    Structure,
    label,
)
from tracker.models.change_request import ChangeRequest
from tracker.models.checklist import CLIENT_ONLY_KEYS, HIRING_EVALUATION_KEY, ChecklistItem
from tracker.models.engagement import Engagement, TeamMember, engagement_follower
from tracker.models.engagement_count import EngagementCount
from tracker.models.evidence import (
    IngestToken,
    Measurement,
    MetricDirection,
    MetricKind,
    MilestoneTarget,
    SuccessMetric,
)
from tracker.models.handover import (
    AccessEntry,
    AccessKind,
    DataDisposition,
    Drill,
    DrillComment,
    DrillOutcome,
    ExitConfirmation,
)
from tracker.models.health_change import HealthChange
from tracker.models.integration import (
    CalendarEntry,
    CalendarFeed,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tracker.models.knowledge import Adr, AdrRevision, Artifact, ShadowAssignment, ShadowSession
from tracker.models.login_throttle import LoginThrottle
from tracker.models.milestone import Milestone, MilestoneUpdate
from tracker.models.notification import (
    DigestRun,
    OutboxEmail,
    Reminder,
    Subscription,
    WorkflowTimer,
    subscription_engagement,
)
from tracker.models.scheduler_step import DeliveryCircuit, SchedulerStep
from tracker.models.sso import SsoLink
from tracker.models.user import ApiToken, PasswordLink, ProviderOrganisation, User

__all__ = [
    "FINAL_MILESTONE_STATUSES",
    "AccessEntry",
    "AccessKind",
    "DataDisposition",
    "Drill",
    "DrillComment",
    "DrillOutcome",
    "ExitConfirmation",
    "Adr",
    "AdrRevision",
    "ApiToken",
    "Artifact",
    "AuditEvent",
    "CalendarEntry",
    "CalendarFeed",
    "ChangeRequest",
    "CLIENT_ONLY_KEYS",
    "ChecklistItem",
    "HIRING_EVALUATION_KEY",
    "ChecklistKind",
    "ChecklistStatus",
    "DigestRun",
    "Engagement",
    "EngagementCount",
    "Health",
    "HealthChange",
    "IngestToken",
    "Measurement",
    "MetricDirection",
    "MetricKind",
    "MilestoneTarget",
    "SuccessMetric",
    "LoginThrottle",
    "MemberRole",
    "Milestone",
    "MilestoneStatus",
    "PROGRESS_MILESTONE_STATUSES",
    "MilestoneUpdate",
    "OutboxEmail",
    "PasswordLink",
    "ProviderOrganisation",
    "SchedulerStep",
    "DeliveryCircuit",
    "Reminder",
    "Role",
    "ShadowAssignment",
    "ShadowSession",
    "SsoLink",
    "Structure",
    "Subscription",
    "TeamMember",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WorkflowDefinitionRecord",
    "WorkflowTimer",
    "engagement_follower",
    "label",
    "subscription_engagement",
]
