"""Derived data: create_app installs every listener of the registry, importing installs none."""

import subprocess
import sys

from sqlalchemy import event

from tracker.extensions import db
from tracker.models import ProviderOrganisation
from tracker.services import derived
from tracker.services.derived import (
    MAPPER_LISTENERS,
    SESSION_LISTENERS,
    Listener,
    register_derived_data,
)


def test_create_app_installs_every_listener_of_the_registry(app):
    for listener in (*SESSION_LISTENERS, *MAPPER_LISTENERS):
        assert event.contains(listener.target, listener.event, listener.step), listener


def test_registering_again_installs_nothing_twice(app, monkeypatch):
    calls = []

    def step(session, flush_context):
        calls.append(1)

    listener = Listener(db.session, "after_flush", step, "a counter")
    monkeypatch.setattr(derived, "SESSION_LISTENERS", (listener,))
    try:
        register_derived_data(app)
        register_derived_data(app)
        with app.app_context():
            db.session.add(ProviderOrganisation(name="Counted Ltd"))
            db.session.flush()
            db.session.rollback()
        assert calls == [1]
    finally:
        event.remove(db.session, "after_flush", step)


def test_importing_the_modules_installs_no_listener():
    """Only register_derived_data installs them: no import side effect to discover."""
    code = (
        "from sqlalchemy import event\n"
        "import tracker.models, tracker.services.derived as d\n"
        "print(any(event.contains(x.target, x.event, x.step)"
        " for x in (*d.SESSION_LISTENERS, *d.MAPPER_LISTENERS)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_create_app_installs_the_unit_of_works_commit_step(app):
    from tracker.services.core import transactions

    assert transactions._health_step == [derived.COMMIT_STEPS["health and health reasons"]]
