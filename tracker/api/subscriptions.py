"""/api/v1/subscriptions: digest subscriptions (list, create, read, change, delete)."""

from flask import jsonify
from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, dump, no_content, protected
from tracker.schemas.subscription import (
    SubscriptionQuerySchema,
    SubscriptionSchema,
    SubscriptionUpdateSchema,
    SubscriptionWriteSchema,
)
from tracker.services.messaging import subscriptions

URL_PREFIX = "/subscriptions"
blp = protected(Blueprint("Subscriptions", __name__, description="Digest subscriptions"))


@blp.route("")
class Subscriptions(MethodView):
    @blp.arguments(SubscriptionQuerySchema, location="query")
    @blp.response(200, SubscriptionSchema(many=True))
    def get(self, args):
        """Your subscriptions; admins and managers see everyone's (or one user's)."""
        found = subscriptions.list_subscriptions(actor(), user_id=args.get("user_id"))
        return jsonify(SubscriptionSchema(many=True).dump(found))

    @blp.arguments(SubscriptionWriteSchema)
    @blp.response(201, SubscriptionSchema)
    def post(self, data):
        """Subscribe to a digest (admins and managers may subscribe a stakeholder)."""
        created = subscriptions.create_subscription(actor(), data)
        return dump(SubscriptionSchema(), created, status=201)


@blp.route(f"/<{ID}:subscription_id>")
class SubscriptionItem(MethodView):
    @blp.response(200, SubscriptionSchema)
    def get(self, subscription_id):
        """One subscription you may manage."""
        return dump(SubscriptionSchema(), subscriptions.get_subscription(actor(), subscription_id))

    @blp.arguments(SubscriptionUpdateSchema)
    @blp.response(200, SubscriptionSchema)
    def patch(self, data, subscription_id):
        """Change scope, schedule or time zone; the next send time is recomputed."""
        changed = subscriptions.update_subscription(actor(), subscription_id, data)
        return dump(SubscriptionSchema(), changed)

    @blp.response(204)
    def delete(self, subscription_id):
        """Delete a subscription."""
        subscriptions.delete_subscription(actor(), subscription_id)
        return no_content()
