"""CSV export query schemas: the list filters of GET /engagements without the paging."""

from tracker.schemas.engagement import EngagementQuerySchema


class EngagementExportQuerySchema(EngagementQuerySchema):
    """Same filters and sort as GET /engagements; the export holds every page."""

    class Meta:
        exclude = ("page", "per_page")
