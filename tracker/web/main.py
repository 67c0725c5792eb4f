"""The landing page; the dashboard and engagement pages build on it."""

from flask import Blueprint, redirect, url_for
from flask_login import login_required

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    """Send signed-in users to their home page."""
    return redirect(url_for("main.home"))


@bp.get("/home")
@login_required
def home():
    from flask import render_template

    return render_template("main/home.html")
