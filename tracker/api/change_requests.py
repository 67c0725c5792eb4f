"""/api/v1 change requests (issue 31): raise, read, approve, reject, withdraw; drift."""

from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, protected
from tracker.schemas.change_request import (
    ChangeRequestSchema,
    ChangeRequestWriteSchema,
    DriftSchema,
    RejectSchema,
)
from tracker.services.change_requests import drift, service

URL_PREFIX = ""
blp = protected(
    Blueprint("Change requests", __name__, description="Change requests and drift (issue 31)")
)


@blp.route(f"/engagements/<{ID}:engagement_id>/change-requests")
class EngagementChangeRequests(MethodView):
    @blp.response(200, ChangeRequestSchema(many=True))
    def get(self, engagement_id):
        """The engagement's change requests, newest first."""
        me = actor()
        return [service.view(r, me) for r in service.list_requests(me, engagement_id)]

    @blp.arguments(ChangeRequestWriteSchema)
    @blp.response(201, ChangeRequestSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data, engagement_id):
        """Raise a change request (managers, admins, the engagement's provider).

        Each change names a field the current state says needs a request; its `from` is
        captured now. A change to a field that needs none, or to another engagement's
        milestone, is a 422 naming `changes.<i>.field` or `changes.<i>.id`."""
        me = actor()
        return service.view(service.raise_request(me, engagement_id, data), me), 201


@blp.route(f"/change-requests/<{ID}:request_id>")
class ChangeRequestItem(MethodView):
    @blp.response(200, ChangeRequestSchema)
    def get(self, request_id):
        """One change request: its changes from → to, why, value, cost and schedule."""
        me = actor()
        return service.view(service.get_request(me, request_id), me)


@blp.route(f"/change-requests/<{ID}:request_id>/approve")
class ApproveChangeRequest(MethodView):
    @blp.response(200, ChangeRequestSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, request_id):
        """Approve (the engagement's owner or an admin, never whoever raised it; above
        CHANGE_REQUEST_ADMIN_ABOVE added in total, an admin). Every change applies in one
        transaction, or none: a field that moved since the request was raised is a 409
        `change_request_stale`."""
        me = actor()
        return service.view(service.approve(me, request_id), me)


@blp.route(f"/change-requests/<{ID}:request_id>/reject")
class RejectChangeRequest(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, ChangeRequestSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data, request_id):
        """Reject with a reason (the same people who may approve)."""
        me = actor()
        return service.view(service.reject(me, request_id, data["reason"]), me)


@blp.route(f"/change-requests/<{ID}:request_id>/withdraw")
class WithdrawChangeRequest(MethodView):
    @blp.response(200, ChangeRequestSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, request_id):
        """Withdraw a proposed request (whoever raised it, or an admin)."""
        me = actor()
        return service.view(service.withdraw(me, request_id), me)


@blp.route(f"/engagements/<{ID}:engagement_id>/drift")
class EngagementDrift(MethodView):
    @blp.response(200, DriftSchema)
    def get(self, engagement_id):
        """Schedule slip and cost added by approved change requests since the trial began
        (cost figures null for those who may not see cost)."""
        me = actor()
        return drift.view(drift.engagement_drift(me, engagement_id), me)
