"""Sign-in and sign-out pages."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from tracker.auth.forms import LoginForm
from tracker.services import users as user_service

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on success go to `next` (if safe) or the dashboard."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = user_service.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh session on sign-in: no fixation
            login_user(user, remember=form.remember.data)
            flash(f"Signed in as {user.name}.", "success")
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
        # The same words whether the email exists or not.
        form.password.errors.append("Email or password is not correct.")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session everywhere: rotating the nonce invalidates old cookies too."""
    user_service.end_sessions(current_user)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
