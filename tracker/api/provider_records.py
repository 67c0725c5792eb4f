"""GET /api/v1/providers/{id}/record: a provider organisation's record, built from the
engagements the caller may see. A provider user asking for another organisation gets 404,
exactly as for one that does not exist."""

from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, protected
from tracker.core import clock
from tracker.schemas.provider_record import ProviderRecordSchema
from tracker.services.portfolio.record import provider_record

URL_PREFIX = "/providers"
blp = protected(
    Blueprint("ProviderRecords", __name__, description="Provider records built from evidence")
)


@blp.route(f"/<{ID}:provider_id>/record")
class ProviderRecord(MethodView):
    @blp.response(200, ProviderRecordSchema)
    def get(self, provider_id):
        """States and outcomes, trial pass rate, on-time rate and days late, staff changes,
        readiness at close and (for who may see cost) cost to date, each figure with the
        ids of the engagements behind it."""
        return provider_record(actor(), provider_id, clock.now().date())
