"""Admin pages for people and organisations: users (invite, edit, deactivate, send a
password link) and provider organisations (create, rename, deactivate). Admins only."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.errors import Conflict, ValidationFailed
from tracker.models import Role
from tracker.services.administration import providers, user_admin
from tracker.services.administration.providers import PROVIDER_KINDS
from tracker.services.administration.user_admin import ADMIN_KINDS
from tracker.services.signin import sso_links

bp = Blueprint("admin_users", __name__, url_prefix="/admin")
ROLES = [r.value for r in Role]
USER_FIELDS = ("email", "name", "role", "provider_id", "timezone")


@bp.before_request
@login_required
def admins_only():
    """Admins only; to anyone else these pages do not exist (404, like the workflows pages)."""
    if not current_user.is_admin:
        abort(404)


def _form(fields) -> dict:
    return {name: (request.form.get(name) or "").strip() for name in fields}


def _user_data(form: dict) -> dict:
    """The form's text as the service takes it (provider_id a number or None)."""
    data = dict(form)
    data["provider_id"] = int(form["provider_id"]) if form["provider_id"].isdigit() else None
    return data


@bp.get("/users")
def users():
    """Every user with role, organisation, last sign-in and status; the invite form."""
    return _users_page()


def _users_page(**context):
    users = user_admin.list_users(current_user)
    return render_template(
        "admin_users/users.html",
        users=users,
        failed=user_admin.failed_sign_ins(current_user, users),
        sso=sso_links.links_by_user(current_user, [u.id for u in users]),
        providers=[p for p in providers.list_providers(current_user) if p.is_active],
        roles=ROLES,
        changes=user_admin.admin_trail(current_user, ADMIN_KINDS, limit=20),
        **context,
    )


@bp.post("/users")
def invite():
    """Create the user; with no password typed, email them an invitation link."""
    form = _form(USER_FIELDS)
    data = {**_user_data(form), "password": request.form.get("password") or None}
    try:
        user = user_admin.invite_user(current_user, data)
    except ValidationFailed as error:
        return _users_page(errors=error.errors, form=form), 422
    if user.password_hash:
        flash(f"{user.name} can sign in now with the password you set.", "success")
    else:
        flash(f"Invitation emailed to {user.email}; the link works once.", "success")
    return redirect(url_for("admin_users.user", user_id=user.id))


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    """One user: the edit form, deactivate or reactivate, a password link, their history."""
    return _user_page(user_id)


def _user_page(user_id: int, **context):
    kinds = (*ADMIN_KINDS, *sso_links.LINK_KINDS)
    return render_template(
        "admin_users/user.html",
        user=user_admin.get_user(current_user, user_id),
        providers=[p for p in providers.list_providers(current_user) if p.is_active],
        roles=ROLES,
        links=sso_links.links_by_user(current_user, [user_id]).get(user_id, []),
        history=user_admin.admin_trail(current_user, kinds, key="user_id", target_id=user_id),
        **context,
    )


@bp.post("/users/<int:user_id>")
def update_user(user_id: int):
    """Change name, role, organisation or time zone (the last admin stays an admin)."""
    form = _form(USER_FIELDS[1:])
    try:
        user_admin.update_user(current_user, user_id, _user_data(form))
    except (ValidationFailed, Conflict) as error:
        return _user_page(user_id, errors=error.errors, form=form), error.status
    flash("Saved.", "success")
    return redirect(url_for("admin_users.user", user_id=user_id))


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id: int):
    """Deactivate: every session, token and feed of theirs stops working now."""
    reason = (request.form.get("reason") or "").strip() or None
    try:
        user_admin.deactivate_user(current_user, user_id, reason)
    except (ValidationFailed, Conflict) as error:
        form = {"reason": reason or ""}
        return _user_page(user_id, errors=error.errors, form=form), error.status
    flash("Deactivated: they are signed out everywhere and cannot sign in.", "success")
    return redirect(url_for("admin_users.user", user_id=user_id))


@bp.post("/users/<int:user_id>/reactivate")
def reactivate_user(user_id: int):
    try:
        user_admin.reactivate_user(current_user, user_id)
    except Conflict as error:
        return _user_page(user_id, errors=error.errors), error.status
    flash("Reactivated: they can sign in again.", "success")
    return redirect(url_for("admin_users.user", user_id=user_id))


@bp.post("/users/<int:user_id>/password-link")
def password_link(user_id: int):
    """Email a single-use set-password link; the scheduler's delivery sends it."""
    try:
        user = user_admin.send_password_link(current_user, user_id)
    except Conflict as error:
        return _user_page(user_id, errors=error.errors), error.status
    flash(f"A set-password link was emailed to {user.email}.", "success")
    return redirect(url_for("admin_users.user", user_id=user_id))


@bp.post("/users/<int:user_id>/sso-links/<int:link_id>/unlink")
def unlink_sso(user_id: int, link_id: int):
    """Remove a single sign-on link: the next sign-in there links again by verified email."""
    link = sso_links.unlink(current_user, user_id, link_id)
    flash(
        f"Unlinked the identity {link.subject} at {link.issuer}. Their next sign-in there "
        "links again by their verified email.",
        "success",
    )
    return redirect(url_for("admin_users.user", user_id=user_id) + "#sso-links")


@bp.get("/providers", endpoint="providers")
def providers_page():
    """Every provider organisation with its counts, and the form to add one."""
    return _providers_page()


def _providers_page(**context):
    rows = providers.list_providers(current_user)
    return render_template(
        "admin_users/providers.html",
        providers=rows,
        counts=providers.counts([p.id for p in rows]),
        changes=user_admin.admin_trail(current_user, PROVIDER_KINDS, limit=20),
        **context,
    )


@bp.post("/providers")
def create_provider():
    form = _form(("name", "website"))
    try:
        provider = providers.create_provider(current_user, form)
    except ValidationFailed as error:
        return _providers_page(errors=error.errors, form=form), 422
    flash(f"{provider.name} added.", "success")
    return redirect(url_for("admin_users.provider", provider_id=provider.id))


@bp.get("/providers/<int:provider_id>")
def provider(provider_id: int):
    """One organisation: rename, deactivate or reactivate, its people, its history."""
    return _provider_page(provider_id)


def _provider_page(provider_id: int, **context):
    return render_template(
        "admin_users/provider.html",
        provider=providers.get_provider(current_user, provider_id),
        people=providers.provider_users(current_user, provider_id),
        history=user_admin.admin_trail(
            current_user, PROVIDER_KINDS, key="provider_id", target_id=provider_id
        ),
        **context,
    )


@bp.post("/providers/<int:provider_id>")
def update_provider(provider_id: int):
    form = _form(("name", "website"))
    try:
        providers.update_provider(current_user, provider_id, form)
    except ValidationFailed as error:
        return _provider_page(provider_id, errors=error.errors, form=form), 422
    flash("Saved.", "success")
    return redirect(url_for("admin_users.provider", provider_id=provider_id))


@bp.post("/providers/<int:provider_id>/<any(deactivate, reactivate):action>")
def provider_status(provider_id: int, action: str):
    """Deactivate (its people are signed out and kept out) or reactivate it."""
    try:
        if action == "deactivate":
            reason = (request.form.get("reason") or "").strip() or None
            providers.deactivate_provider(current_user, provider_id, reason)
        else:
            providers.reactivate_provider(current_user, provider_id)
    except (ValidationFailed, Conflict) as error:
        return _provider_page(provider_id, errors=error.errors), error.status
    flash("Deactivated." if action == "deactivate" else "Reactivated.", "success")
    return redirect(url_for("admin_users.provider", provider_id=provider_id))
