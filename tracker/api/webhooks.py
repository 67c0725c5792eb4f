"""/api/v1/webhooks and /api/v1/webhook-deliveries: endpoints, logs, redelivery (admins)."""

from flask import jsonify
from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, no_content, protected
from tracker.schemas.webhook import (
    NewWebhookSchema,
    WebhookDeliverySchema,
    WebhookSchema,
    WebhookUpdateSchema,
    WebhookWriteSchema,
)
from tracker.services.messaging import webhooks

URL_PREFIX = ""
blp = protected(Blueprint("Webhooks", __name__, description="Outgoing webhooks (admins only)"))


def _with_secret(endpoint, status: int):
    return jsonify(NewWebhookSchema().dump(endpoint)), status


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, WebhookSchema(many=True))
    def get(self):
        """Every registered endpoint (secrets are never listed)."""
        return webhooks.list_endpoints(actor())

    @blp.arguments(WebhookWriteSchema)
    @blp.response(201, NewWebhookSchema)
    def post(self, data):
        """Register an endpoint; the response holds its signing secret, this once."""
        return _with_secret(webhooks.create_endpoint(actor(), data), 201)


@blp.route(f"/webhooks/<{ID}:endpoint_id>")
class WebhookItem(MethodView):
    @blp.response(200, WebhookSchema)
    def get(self, endpoint_id):
        """One endpoint."""
        return webhooks.get_endpoint(actor(), endpoint_id)

    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, data, endpoint_id):
        """Change the URL, events, description, or enable/disable it."""
        return webhooks.update_endpoint(actor(), endpoint_id, data)

    @blp.response(204)
    def delete(self, endpoint_id):
        """Remove the endpoint and its delivery log."""
        webhooks.delete_endpoint(actor(), endpoint_id)
        return no_content()


@blp.route(f"/webhooks/<{ID}:endpoint_id>/rotate-secret")
class WebhookSecret(MethodView):
    @blp.response(200, NewWebhookSchema)
    def post(self, endpoint_id):
        """A new secret (shown once); for 24 hours both the old and the new one sign."""
        return _with_secret(webhooks.rotate_secret(actor(), endpoint_id), 200)


@blp.route(f"/webhooks/<{ID}:endpoint_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.response(200, WebhookDeliverySchema(many=True))
    def get(self, endpoint_id):
        """The endpoint's latest 100 deliveries, newest first."""
        return webhooks.list_deliveries(actor(), endpoint_id)


@blp.route(f"/webhooks/<{ID}:endpoint_id>/test")
class WebhookTest(MethodView):
    @blp.response(202, WebhookDeliverySchema)
    def post(self, endpoint_id):
        """Queue a `webhook.test` event for this endpoint; the next scheduler tick sends it."""
        return webhooks.send_test_event(actor(), endpoint_id)


@blp.route(f"/webhook-deliveries/<{ID}:delivery_id>/redeliver")
class WebhookRedelivery(MethodView):
    @blp.response(202, WebhookDeliverySchema)
    def post(self, delivery_id):
        """Send this delivery again (same webhook-id) on the next scheduler tick."""
        return webhooks.redeliver(actor(), delivery_id)
