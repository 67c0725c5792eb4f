"""/api/v1/tokens: the caller's personal API tokens (list, create once-shown, revoke)."""

from flask import jsonify
from flask.views import MethodView

from tracker.api.common import ID, Blueprint, actor, protected
from tracker.schemas.token import NewTokenSchema, TokenSchema, TokenWriteSchema
from tracker.services.administration import users

URL_PREFIX = "/tokens"
blp = protected(Blueprint("Tokens", __name__, description="Personal API tokens"))


@blp.route("")
class Tokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """Your tokens, newest first (the secrets are never shown again)."""
        return users.list_tokens(actor())

    @blp.arguments(TokenWriteSchema)
    @blp.response(201, NewTokenSchema)
    def post(self, data):
        """Create a token; the response carries the secret, this once."""
        token, secret = users.create_token(actor(), data["name"])
        return jsonify(TokenSchema().dump(token) | {"secret": secret}), 201


@blp.route(f"/<{ID}:token_id>")
class TokenItem(MethodView):
    @blp.response(200, TokenSchema)
    def delete(self, token_id):
        """Revoke one of your tokens (admins: anyone's); revoking twice is harmless."""
        return users.revoke_token(actor(), token_id)
