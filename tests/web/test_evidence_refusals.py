"""The Evidence card's forms, refused by the server, come back with what was typed and the
message beside the field it is about (ADR 0175), a 422, and nothing stored: the metric,
target and measurement forms of the engagement page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import add_metric, add_milestone, make_engagement
from tests.support.scheduler import day_pinned
from tracker.extensions import db
from tracker.models import Measurement, MilestoneTarget, SuccessMetric, User

TOMORROW = date.today() + timedelta(days=1)


@pytest.fixture(autouse=True)
def _on_today(app):
    """The app's clock on the day before TOMORROW, even if the run crosses midnight UTC."""
    day_pinned(app, TOMORROW - timedelta(days=1))


@pytest.fixture
def card(app, sign_in):
    """A manager signed in; their engagement with a Day-30 and a Day-60 milestone and two
    metrics (so a kept choice is not just the first option)."""
    manager_id = sign_in("manager")
    with app.app_context():
        engagement = make_engagement(db.session.get(User, manager_id), title="Churn model")
        day30 = add_milestone(engagement, days=20, title="Day-30")
        day60 = add_milestone(engagement, days=50, title="Day-60")
        auc = add_metric(engagement, name="Offline AUC")
        latency = add_metric(engagement, name="p95 latency", kind="latency", direction="lower",
                             baseline=2600, unit="ms")  # fmt: skip
        ids = {"engagement": engagement.id, "day30": day30.id, "day60": day60.id}
        ids |= {"auc": auc.id, "latency": latency.id}
        db.session.remove()
    return ids


def _form(html: str, testid: str) -> str:
    match = re.search(rf'<form [^>]*data-testid="{testid}".*?</form>', html, re.S)
    assert match, f"no form {testid}"
    return match.group(0)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _beside(form: str, name: str, message: str) -> None:
    """The field says it is invalid and its message follows it, naming the field."""
    assert re.search(
        rf'name="{name}"[^>]*aria-invalid="true"[^>]*>(?:</label>)?'
        rf'(?:</select>)?\s*<span class="field-error" data-field="{name}"[^>]*>[^<]*{message}',
        form,
    ), form


def test_a_refused_metric_keeps_every_typed_value(client, app, card, post):
    before = _count(app, SuccessMetric)
    typed = {
        "name": "Conversion uplift",
        "kind": "business",
        "unit": "%",
        "direction": "sideways",  # neither higher nor lower
        "baseline": "about two",  # not a number
        "source_note": "Weekly A/B readout",
    }
    response = post(f"/engagements/{card['engagement']}/metrics", typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<details class="small" open><summary data-testid="open-add-metric">', html)
    form = _form(html, "add-metric")
    assert 'value="Conversion uplift"' in form and 'value="Weekly A/B readout"' in form
    assert 'value="%"' in form and 'value="about two"' in form
    assert '<option value="business" selected>' in form
    _beside(form, "baseline", "")
    assert 'data-field="direction"' in form
    assert _count(app, SuccessMetric) == before
    other = _form(html, f"measure-{card['auc']}")  # the other forms render blank
    assert 'value=""' in other and "aria-invalid" not in other


def test_a_refused_target_keeps_the_milestone_metric_and_value(client, app, card, post):
    typed = {"milestone_id": str(card["day60"]), "metric_id": str(card["latency"]),
             "target": "fast"}  # fmt: skip
    response = post(f"/engagements/{card['engagement']}/targets", typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<details class="small" open><summary data-testid="open-add-metric">', html)
    form = _form(html, "set-target")
    assert f'<option value="{card["day60"]}" selected>' in form
    assert f'<option value="{card["day30"]}" selected>' not in form
    assert f'<option value="{card["latency"]}" selected>' in form
    _beside(form, "target", "Finite")
    assert 'value="fast"' in form
    assert _count(app, MilestoneTarget) == 0


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ({"value": "2150", "measured_on": TOMORROW.isoformat()}, "measured_on", ""),
        ({"value": "NaN", "measured_on": ""}, "value", ""),
        ({"value": "2150", "measured_on": "next week"}, "measured_on", "Not a date"),
    ],
    ids=["future day", "not finite", "not a date"],
)
def test_a_refused_measurement_keeps_the_value_day_and_note(
    client, app, card, post, typed, field, message
):
    metric = card["latency"]
    response = post(f"/metrics/{metric}/measurements", {**typed, "note": "Nightly eval run"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    form = _form(html, f"measure-{metric}")
    assert f'value="{typed["value"]}"' in form and 'value="Nightly eval run"' in form
    if typed["measured_on"]:
        assert f'value="{typed["measured_on"]}"' in form
    _beside(form, field, message)
    assert "aria-invalid" not in _form(html, f"measure-{card['auc']}")
    assert _count(app, Measurement) == 0
