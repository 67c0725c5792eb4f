"""/api/v1/providers: provider organisations as admins manage them (create, rename,
deactivate, reactivate). Non-admins get 403, as on /webhooks."""

from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor
from tracker.api.users import admins_only
from tracker.schemas.user import (
    AdminProviderSchema,
    DeactivateSchema,
    ProviderUpdateSchema,
    ProviderWriteSchema,
)
from tracker.services.administration import providers

URL_PREFIX = "/providers"
blp = admins_only(
    Blueprint("Providers", __name__, description="Provider organisations (admins only)")
)


@blp.route("")
class Providers(MethodView):
    @blp.response(200, AdminProviderSchema(many=True))
    def get(self):
        """Every provider organisation, by name."""
        return providers.list_providers(actor())

    @blp.arguments(ProviderWriteSchema)
    @blp.response(201, AdminProviderSchema)
    def post(self, data):
        """Create an organisation (names are unique, ignoring case)."""
        return providers.create_provider(actor(), data)


@blp.route(f"/<{ID}:provider_id>")
class ProviderItem(MethodView):
    @blp.response(200, AdminProviderSchema)
    def get(self, provider_id):
        """One organisation."""
        return providers.get_provider(actor(), provider_id)

    @blp.arguments(ProviderUpdateSchema)
    @blp.response(200, AdminProviderSchema)
    def patch(self, data, provider_id):
        """Rename it or change its website."""
        return providers.update_provider(actor(), provider_id, data)


@blp.route(f"/<{ID}:provider_id>/deactivate")
class ProviderDeactivation(MethodView):
    @blp.arguments(DeactivateSchema, required=False)
    @blp.response(200, AdminProviderSchema)
    def post(self, data, provider_id):
        """Its people can no longer sign in (sessions end now); its engagements stay
        readable for the client side."""
        return providers.deactivate_provider(actor(), provider_id, (data or {}).get("reason"))


@blp.route(f"/<{ID}:provider_id>/reactivate")
class ProviderReactivation(MethodView):
    @blp.response(200, AdminProviderSchema)
    def post(self, provider_id):
        """Its active people may sign in again."""
        return providers.reactivate_provider(actor(), provider_id)
