"""Digest pages: manage subscriptions, preview my digest, and the no-login unsubscribe link."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from tracker.errors import ValidationFailed
from tracker.services.messaging import subscriptions as subscription_service
from tracker.web.support import person_picker
from tracker.web.support.responses import apply_errors
from tracker.web.support.security_headers import framed_email

bp = Blueprint("digests", __name__, url_prefix="/digests")
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _int_or_none(value):
    return None if value in (None, "", "None") else int(value)


class SubscriptionForm(FlaskForm):
    """Shape only; the service checks references and visibility."""

    # a person picker (issue 29): "Name <email>" the route resolves; empty for oneself
    user_id = StringField("Subscriber", validators=[Optional(), Length(max=320)])
    scope = SelectField(
        "Engagements",
        choices=[
            SelectChoice("all", "All I can see"),
            SelectChoice("provider", "One provider's"),
            SelectChoice("chosen", "Chosen"),
        ],
    )
    provider_id = SelectField("Provider", coerce=_int_or_none, validators=[Optional()])
    engagement_ids = SelectMultipleField("Chosen engagements", coerce=int, validate_choice=False)
    frequency = SelectField(
        "How often", choices=[SelectChoice("daily", "Daily"), SelectChoice("weekly", "Weekly")]
    )
    weekday = SelectField(
        "Weekday (weekly)", coerce=int, choices=[SelectChoice(i, d) for i, d in enumerate(WEEKDAYS)]
    )
    send_time = TimeField("Local send time", validators=[DataRequired()])
    timezone = SelectField("Time zone", validators=[DataRequired()])


def _form() -> SubscriptionForm:
    form = SubscriptionForm()
    user = current_user
    providers, engagements = subscription_service.form_choices(user)
    form.provider_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(p.id, p.name) for p in providers
    ]
    form.engagement_ids.choices = [SelectChoice(e.id, e.title) for e in engagements]
    form.timezone.choices = [SelectChoice(z, z) for z in sorted(available_timezones())]
    if not form.is_submitted():
        form.timezone.data = user.timezone or "UTC"
        form.user_id.data = f"{user.name} <{user.email}>"
    return form


SUBSCRIBER_NOT_FOUND = "Choose a subscriber from the list (name and email), or type their email."


def _subscriber(form) -> bool:
    """Resolve the subscriber picker's text to an id in the form's data; False, with the
    message on the field, when it names nobody the user may subscribe."""
    text = (form.user_id.data or "").strip()
    if not text:
        form.user_id.data = None
        return True
    found = subscription_service.subscriber_from_text(current_user, text)
    if found is None:
        form.user_id.errors = [*form.user_id.errors, SUBSCRIBER_NOT_FOUND]
        return False
    form.user_id.data = found
    return True


@bp.get("/subscribers")
@login_required
def subscriber_suggestions():
    """Suggestions for the subscriber picker: `q`, `page` (20 a page), JSON like /pickers."""
    return person_picker.suggestions(
        lambda text, page: subscription_service.subscriber_suggestions(current_user, text, page)
    )


@bp.route("/", methods=["GET", "POST"])
@login_required
def subscriptions():
    """My subscriptions (and, for admins and managers, stakeholders'), with a form to add one."""
    form = _form()
    typed = form.user_id.data
    if form.validate_on_submit() and _subscriber(form):
        data = {k: v for k, v in form.data.items() if k not in ("csrf_token",)}
        if data["frequency"] == "daily":
            data.pop("weekday")
        if data["scope"] != "chosen":
            data.pop("engagement_ids")
        try:
            subscription_service.create_subscription(current_user, data)
        except ValidationFailed as error:
            apply_errors(form, error)
            form.user_id.data = typed  # what was typed, not the id it named
        else:
            flash("Subscribed. The first digest comes at the next send time.", "success")
            return redirect(url_for("digests.subscriptions"))
    rows = subscription_service.list_subscriptions(current_user)
    status = 422 if form.is_submitted() else 200
    page = render_template("digests/subscriptions.html", form=form, rows=rows, weekdays=WEEKDAYS)
    return page, status


@bp.post("/<int:subscription_id>/delete")
@login_required
def delete(subscription_id: int):
    """Delete a subscription (own, or a stakeholder's); CSRFProtect checks the token."""
    subscription_service.delete_subscription(current_user, subscription_id)
    flash("Subscription deleted.", "success")
    return redirect(url_for("digests.subscriptions"))


@bp.post("/<int:subscription_id>/toggle")
@login_required
def toggle(subscription_id: int):
    """Pause or resume a subscription."""
    subscription = subscription_service.get_subscription(current_user, subscription_id)
    subscription_service.update_subscription(
        current_user, subscription_id, {"is_active": not subscription.is_active}
    )
    flash("Subscription resumed." if subscription.is_active else "Subscription paused.", "success")
    return redirect(url_for("digests.subscriptions"))


@bp.get("/preview")
@login_required
def preview():
    """What my digest would look like now (the HTML email, in a frame)."""
    from tracker.notifications import digests

    message = digests.preview(current_user)
    return render_template("digests/preview.html", message=message)


@bp.get("/preview/html")
@login_required
def preview_html():
    """The preview's HTML body alone, for the page's sandboxed frame (its own policy)."""
    from tracker.notifications import digests

    return framed_email(digests.preview(current_user).html)


@bp.get("/unsubscribe/<token>")
def unsubscribe_confirm(token: str):
    """The link in every digest: a confirm button (no sign-in needed)."""
    subscription = subscription_service.subscription_for_token(token)
    return render_template("digests/unsubscribe.html", subscription=subscription, token=token)


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    """Unsubscribe (the confirm button, or an RFC 8058 one-click POST from a mail client).

    Exempt from CSRF in `register_web`: the signed token is the credential, and a mail
    client's one-click POST has no form.
    """
    subscription = subscription_service.unsubscribe(token)
    return render_template("digests/unsubscribe.html", subscription=subscription, done=True)
