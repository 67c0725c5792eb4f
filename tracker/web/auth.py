"""Sign-in, sign-out, password change and set-password-by-link pages (endpoints `auth.*`)."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from tracker.auth.forms import LoginForm, PasswordChangeForm, SetPasswordForm
from tracker.errors import NotFound, TooManyAttempts, ValidationFailed
from tracker.services.administration import password_links
from tracker.services.administration import users as user_service
from tracker.services.administration.password_links import LinkRefused
from tracker.services.signin import device as devices
from tracker.services.signin import oidc
from tracker.services.signin import password as password_signin

bp = Blueprint("auth", __name__)


@bp.context_processor
def _sso_buttons():
    """The sign-in page's "Sign in with ..." buttons, one per configured issuer."""
    return {"sso_issuers": oidc.sign_in_buttons()}


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
        return redirect(url_for("landing.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template(
            "auth/login.html", form=form
        ), 200 if request.method == "GET" else 400
    try:
        attempt = password_signin.authenticate(
            form.email.data,
            form.password.data,
            request.remote_addr,
            request.cookies.get(devices.COOKIE_NAME),
        )
    except TooManyAttempts as error:
        form.password.errors.append(error.message)
        page = render_template("auth/login.html", form=form)
        return page, 429, {"Retry-After": str(error.retry_after)}
    if attempt.single_sign_on_only:
        name = oidc.sign_in_buttons()[0].name
        form.password.errors.append(f"Your account signs in with {name}: use the button below.")
        return render_template("auth/login.html", form=form), 403
    if attempt.user is None:  # the same words whether the email exists or not
        form.password.errors.append("Email or password is not correct.")
        return render_template("auth/login.html", form=form), 400
    session.clear()  # a fresh session on sign-in: no fixation
    login_user(attempt.user, remember=form.remember.data)
    flash(f"Signed in as {attempt.user.name}.", "success")
    response = redirect(safe_next(request.args.get("next")) or url_for("landing.index"))
    set_device_cookie(response, attempt.device_cookie)
    return response


def set_device_cookie(response, value: str | None) -> None:
    """This browser signed in: remember it for the account (signin/device.py, ADR 0193)."""
    if value is None:
        return
    response.set_cookie(
        devices.COOKIE_NAME,
        value,
        max_age=devices.max_age_seconds(),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change my password: the current one, then a new one under the policy."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return render_template(
            "auth/password.html", form=form
        ), 200 if request.method == "GET" else 400
    user = current_user._get_current_object()
    try:
        user_service.change_password(
            user,
            form.current_password.data,
            form.password.data,
            request.remote_addr,
            request.cookies.get(devices.COOKIE_NAME),
        )
    except (ValidationFailed, TooManyAttempts) as error:
        _show_errors(form, error)
        status = 429 if isinstance(error, TooManyAttempts) else 422
        return render_template("auth/password.html", form=form), status
    login_user(user)  # the change ended every session, this one included: start a new one
    flash("Your password was changed; other sessions were signed out.", "success")
    return redirect(url_for("landing.index"))


def _show_errors(form, error) -> None:
    fields = getattr(error, "errors", None) or {"current_password": [error.message]}
    for name, messages in fields.items():
        getattr(form, name, form.password).errors.extend(messages)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session everywhere: rotating the nonce invalidates old cookies too. A
    session that came through single sign-on goes on to the provider's end-session
    endpoint when it has one (RP-initiated logout), which sends the browser back here."""
    provider_logout = oidc.logout_url()  # read before the session is cleared
    user_service.end_sessions(current_user)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(provider_logout or url_for("auth.login"))


@bp.route("/login/oidc/<key>", methods=["POST"])
def oidc_start(key: str):
    """Send the browser to the identity provider (a POST: the form carries a CSRF token)."""
    try:
        return redirect(oidc.begin(key, safe_next(request.args.get("next"))))
    except oidc.SsoRefused as error:
        return _sso_refused(error)


@bp.route("/login/oidc/callback")
def oidc_callback():
    """The identity provider's answer: a fresh session for the user, or a page saying
    what went wrong (nothing created, an audit event written)."""
    try:
        signed_in = oidc.finish(request.args)
    except oidc.SsoRefused as error:
        return _sso_refused(error)
    if current_user.is_authenticated:
        logout_user()
    session.clear()  # a fresh session on sign-in: no fixation
    session.update(signed_in.session_data)
    login_user(signed_in.user)
    flash(f"Signed in as {signed_in.user.name}.", "success")
    response = redirect(safe_next(signed_in.next_url) or url_for("landing.index"))
    # this browser is now known for the account, as after a password sign-in (ADR 0193)
    set_device_cookie(
        response, devices.issue(request.cookies.get(devices.COOKIE_NAME), signed_in.user.id)
    )
    return response


def _sso_refused(error):
    page = render_template("auth/sso_refused.html", message=error.message, reason=error.reason)
    return page, error.status


@bp.route("/password/set/<secret>", methods=["GET", "POST"])
def set_password(secret: str):
    """Choose a password from an emailed invitation or reset link (single use, expiring).

    A used, replaced or expired link shows why (410) and changes nothing."""
    form = SetPasswordForm()
    try:
        link = password_links.open_link(secret)
    except (NotFound, LinkRefused) as error:
        return render_template("auth/set_password.html", refused=error.message), error.status
    if not form.validate_on_submit():
        page = render_template("auth/set_password.html", form=form, user=link.user)
        return page, 200 if request.method == "GET" else 400
    try:
        user = password_links.set_password_with_link(secret, form.password.data)
    except ValidationFailed as error:
        form.password.errors.extend(error.errors.get("password", [error.message]))
        return render_template("auth/set_password.html", form=form, user=link.user), 422
    except LinkRefused as error:
        return render_template("auth/set_password.html", refused=error.message), error.status
    if current_user.is_authenticated:
        logout_user()  # someone else's session in this browser must not carry on
    session.clear()
    flash(f"Your password is set, {user.name}. Sign in with it now.", "success")
    return redirect(url_for("auth.login"))
