"""The "API tokens" page: list, create (secret shown once), revoke."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.errors import NotFound, ValidationFailed
from tracker.services.administration import users

bp = Blueprint("tokens", __name__)


@bp.get("/tokens")
@login_required
def tokens():
    """The signed-in user's tokens: name, prefix, created, last used, revoked."""
    return _page()


@bp.post("/tokens")
@login_required
def create_token():
    """Create a token and show its secret on this response only (never flashed or stored)."""
    name = (request.form.get("name") or "").strip()
    try:
        token, secret = users.create_token(current_user, name)
    except ValidationFailed as error:
        return _page(errors=error.errors, name=name), error.status  # 422, the name kept
    return _page(new_token=token, secret=secret)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of the user's tokens; it stops working at once."""
    try:
        users.revoke_token(current_user, token_id)
    except NotFound:
        return _page(errors={"token": ["No such token."]}), 404
    return redirect(url_for("tokens.tokens"))


def _page(**context):
    return render_template("tokens/index.html", tokens=users.list_tokens(current_user), **context)
