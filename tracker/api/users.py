"""/api/v1/users: the admin's user management (list, invite or create, edit, deactivate,
reactivate, send a set-password link). Non-admins get 403, as on /webhooks."""

from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, protected
from tracker.schemas.user import (
    AdminUserSchema,
    DeactivateSchema,
    UserCreateSchema,
    UserUpdateSchema,
)
from tracker.services.administration import user_admin

URL_PREFIX = "/users"


def admins_only(blp):
    """Sign-in, then 403 for anyone but an admin, before the body is even parsed (so a
    non-admin learns nothing from field errors); the services check again."""
    protected(blp)

    @blp.before_request
    def require_admin():
        user_admin.require_admin(actor())

    return blp


blp = admins_only(Blueprint("Users", __name__, description="User accounts (admins only)"))


@blp.route("")
class Users(MethodView):
    @blp.response(200, AdminUserSchema(many=True))
    def get(self):
        """Every user with role, organisation, status and last sign-in, by name."""
        return user_admin.list_users(actor())

    @blp.arguments(UserCreateSchema)
    @blp.response(201, AdminUserSchema)
    def post(self, data):
        """Create a user. Without `password`, they are emailed a single-use invitation
        link (through the outbox) and show as `invited` until they use it."""
        return user_admin.invite_user(actor(), data)


@blp.route(f"/<{ID}:user_id>")
class UserItem(MethodView):
    @blp.response(200, AdminUserSchema)
    def get(self, user_id):
        """One user."""
        return user_admin.get_user(actor(), user_id)

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, AdminUserSchema)
    def patch(self, data, user_id):
        """Change name, role, organisation or time zone. The last active admin keeps
        the admin role (409)."""
        return user_admin.update_user(actor(), user_id, data)


@blp.route(f"/<{ID}:user_id>/deactivate")
class UserDeactivation(MethodView):
    @blp.arguments(DeactivateSchema, required=False)
    @blp.response(200, AdminUserSchema)
    def post(self, data, user_id):
        """Stop the user signing in: sessions, remember cookies, API tokens, calendar feed
        and open password links stop working at once; their history stays. Not the last
        active admin (409)."""
        return user_admin.deactivate_user(actor(), user_id, (data or {}).get("reason"))


@blp.route(f"/<{ID}:user_id>/reactivate")
class UserReactivation(MethodView):
    @blp.response(200, AdminUserSchema)
    def post(self, user_id):
        """Let a deactivated user sign in again (revoked API tokens stay revoked)."""
        return user_admin.reactivate_user(actor(), user_id)


@blp.route(f"/<{ID}:user_id>/password-link")
class UserPasswordLink(MethodView):
    @blp.response(202, AdminUserSchema)
    def post(self, user_id):
        """Email a single-use set-password link (an invitation again if they never set a
        password, else a reset). Earlier links stop working; the scheduler sends it."""
        return user_admin.send_password_link(actor(), user_id)
