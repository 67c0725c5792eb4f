"""What the engagement page shows, loaded in a fixed number of queries (no per-row loads):
the engagement's facts from its read model (built once per request), the pictures drawn here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from markupsafe import Markup

from tracker.auth.permissions import Action, can
from tracker.models import ChecklistItem, Engagement, Milestone, TeamMember, User
from tracker.schemas.engagement import COST_FIELDS
from tracker.services.evidence.page import EvidenceView, evidence_view
from tracker.services.judgments.health_history import HealthStrip, health_strip
from tracker.services.milestone_status import displayed_status
from tracker.services.read_model import engagement_page
from tracker.services.read_model.engagement_page import EngagementView
from tracker.services.read_model.engagement_queries import get_engagement
from tracker.services.staffing.cost import CostBurn, cost_burn, cost_to_date
from tracker.services.workflow.lifecycle import period_progress
from tracker.web.support.audit_text import audit_items_html
from tracker.web.support.cost_burn import burn_summary, cost_burn_svg
from tracker.web.support.engagement_view import view_for
from tracker.web.support.filters import format_datetime
from tracker.web.support.health_strip import health_strip_svg, strip_summary
from tracker.web.support.metric_chart import metric_chart_svg
from tracker.web.support.timeline import timeline_svg

# The newest entries on the page; the CSV beside them has every entry. 100 made the trail a
# fifth of a busy engagement page (issue 29: the page under 100 KB).
AUDIT_LIMIT = 50


@dataclass
class EngagementOverview:
    """The engagement and everything around it, ready for the template."""

    engagement: Engagement
    checklists: dict[str, list[ChecklistItem]]
    milestones: list[Milestone]
    members: list[TeamMember]
    audit: list  # rows of what the trail shows of each entry (engagement_page.recent_audit)
    options: list = field(default_factory=list)
    diagram: Markup = Markup("")
    timeline: Markup = Markup("")
    progress: tuple | None = None
    cost_to_date: Decimal = Decimal("0")  # left at 0 for who may not see cost
    burn: CostBurn | None = None  # likewise None
    burn_svg: Markup = Markup("")
    burn_text: str = ""
    strip: HealthStrip | None = None
    strip_svg: Markup = Markup("")
    strip_text: str = ""
    can_edit: bool = False
    can_fire: bool = False
    can_view_cost: bool = False
    hidden_fields: tuple = ()  # left out of the audit trail's "edited …" for this viewer
    can_update_milestones: bool = False
    can_complete_checklist: bool = False
    evidence: EvidenceView | None = None  # metrics, their charts' data, milestones judged
    # milestone id -> its judged targets, which can contradict the provider's claim
    claim_evidence: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)  # milestone id -> its displayed status
    charts: dict = field(default_factory=dict)  # metric id -> its SVG
    audit_html: Markup = Markup("")  # the trail's `<li>` lines (audit_text.audit_items_html)

    def anchor_shown(self, anchor: str | None) -> str | None:
        """A reason's anchor if this page draws its target: a cost metric's chart is not
        drawn for who may not see cost, though the health reason naming it is everyone's."""
        metric = (anchor or "").removeprefix("metric-")
        if metric != (anchor or "") and not (metric.isdigit() and int(metric) in self.charts):
            return None
        return anchor


def load_overview(actor: User, engagement_id: int, today: date) -> EngagementOverview:
    """Load the page's data; NotFound when the user may not see the engagement."""
    engagement = get_engagement(actor, engagement_id)
    view = view_for(engagement)  # every fact once; the page's other sections share it
    milestones = view.milestones
    overview = EngagementOverview(
        engagement=engagement,
        checklists=view.checklists_by_kind(client_only=can(actor, Action.VIEW_COST, engagement)),
        milestones=milestones,
        members=view.members,
        audit=engagement_page.recent_audit(
            engagement.id, AUDIT_LIMIT, can(actor, Action.VIEW_COST, engagement)
        ),
        progress=period_progress(engagement, today),
    )
    _set_permissions(overview, actor)
    overview.audit_html = _audit_html(overview, actor)
    _add_pictures(overview, today)
    _add_evidence(overview, actor, today, view)
    # drawn after the evidence: a claim a measured target contradicts reads so here too
    overview.statuses = {
        m.id: displayed_status(m, today, overview.claim_evidence.get(m.id)) for m in milestones
    }  # judged once: the timeline and the milestones' badges show the same judgment
    overview.timeline = timeline_svg(
        engagement, milestones, today, overview.claim_evidence, overview.statuses
    )
    _add_workflow(overview, actor, view)
    return overview


def _audit_html(overview: EngagementOverview, actor: User) -> Markup:
    """The trail's lines, each instant in the viewer's zone (read once, as `|datetime`
    reads it per value)."""
    zone = getattr(actor, "timezone", None) or "UTC"
    return audit_items_html(
        overview.audit,
        overview.engagement,
        overview.hidden_fields,
        lambda at: format_datetime(at, zone),
    )


def _set_permissions(overview: EngagementOverview, actor: User) -> None:
    engagement = overview.engagement
    overview.can_edit = can(actor, Action.EDIT, engagement)
    overview.can_fire = can(actor, Action.FIRE, engagement)
    overview.can_view_cost = can(actor, Action.VIEW_COST, engagement)
    overview.hidden_fields = () if overview.can_view_cost else COST_FIELDS
    overview.can_update_milestones = can(actor, Action.UPDATE_MILESTONE, engagement)
    overview.can_complete_checklist = can(actor, Action.COMPLETE_CHECKLIST, engagement)


def _add_pictures(overview: EngagementOverview, today: date) -> None:
    """The health strip for everyone; cost figures and their picture only for who may see
    cost (nobody else's page carries any of them)."""
    engagement = overview.engagement
    overview.strip = health_strip(engagement)
    overview.strip_svg = health_strip_svg(overview.strip)
    overview.strip_text = strip_summary(overview.strip)
    if not overview.can_view_cost:
        return
    overview.cost_to_date = cost_to_date(engagement, today)
    overview.burn = cost_burn(engagement, today)
    if overview.burn is not None:
        overview.burn_svg = cost_burn_svg(overview.burn, engagement.currency)
        overview.burn_text = burn_summary(overview.burn, engagement.currency)


def _add_evidence(
    overview: EngagementOverview, actor: User, today: date, view: EngagementView
) -> None:
    """The Evidence card: each metric's chart and the milestones judged (fixed queries;
    the metrics and targets are the ones the page's facts were read from)."""
    overview.evidence = evidence_view(
        overview.engagement, overview.milestones, actor, today, view.evidence
    )
    overview.charts = {v.metric.id: metric_chart_svg(v, today) for v in overview.evidence.metrics}
    overview.claim_evidence = {me.milestone.id: me.claims for me in overview.evidence.milestones}


def _add_workflow(overview: EngagementOverview, actor: User, view: EngagementView) -> None:
    """The diagram and the transitions this user may (or may not yet) fire, judged on the
    facts the page shows."""
    from tracker.services.workflow import transitions

    engagement = overview.engagement
    overview.diagram = Markup(transitions.diagram_svg(engagement))
    if overview.can_fire and not engagement.is_closed:
        overview.options = transitions.options_for(actor, engagement, view.subject)
