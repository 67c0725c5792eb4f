"""Sign-in and password change forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    """Email + password; "remember me" sets a long-lived, HttpOnly cookie."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in on this device")


class PasswordChangeForm(FlaskForm):
    """The current password, then the new one twice (the policy is checked by the service)."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=200)]
    )
    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("password", message="The two entries differ.")],
    )


class SetPasswordForm(FlaskForm):
    """A new password twice, from an emailed single-use link (no current password)."""

    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("password", message="The two entries differ.")],
    )
