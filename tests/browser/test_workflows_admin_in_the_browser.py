"""An admin previews and runs a workflow migration; a manager starts on the other workflow."""

from __future__ import annotations

import re
import shutil
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from config import TestingConfig
from tests.browser.conftest import login, screenshot
from tests.conftest import _create_schema
from tests.support.browser import buffered
from tracker import create_app
from tracker.extensions import db
from tracker.models import AuditEvent, Engagement
from workflows import DEFINITIONS_DIR

BLOCKED = "Vision QA for the packing line"  # in milestone_review in the demo data


def _next_version(directory, renamed: str) -> int:
    """Ship staff_augmentation's next version beside the current one, with `renamed` renamed."""
    text = (directory / "staff_augmentation.toml").read_text()
    version = int(re.search(r"^version = (\d+)$", text, re.M).group(1)) + 1
    text = re.sub(r"^version = \d+$", f"version = {version}", text, count=1, flags=re.M)
    text = text.replace(f"[states.{renamed}]", f"[states.{renamed}_v2]")
    text = text.replace(f'"{renamed}"', f'"{renamed}_v2"')
    (directory / f"staff_augmentation.v{version}.toml").write_text(text)
    return version


@pytest.fixture
def server(tmp_path):
    """The demo data on a private copy of the shipped definitions, served on a free port."""
    from tracker.demo.seed import seed_demo

    directory = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS_DIR, directory)
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    _create_schema(url)
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=url,
        MAIL_DIR=str(tmp_path / "mail"),
        WORKFLOW_DIR=str(directory),
    )
    with app.app_context():
        seed_demo()
        db.session.remove()
    served = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield app, directory, f"http://127.0.0.1:{served.server_port}"
    served.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_admin_previews_then_runs_a_migration_and_sees_the_result(server, page):
    app, directory, base = server
    version = _next_version(directory, "milestone_review")
    login(page, base, "admin@example.com")
    page.click("nav >> text=Workflows")
    row = page.locator(f"[data-testid=version-staff_augmentation-{version}]")
    assert row.locator("[data-testid=count]").inner_text() == "0"
    page.click("[data-testid=migrate-staff_augmentation]")

    report = page.locator("[data-testid=migration-report]")
    assert "nothing changed yet" in report.inner_text()
    blocked = report.locator("tr.cannot-move")
    assert blocked.count() == 1 and BLOCKED in blocked.inner_text()
    assert "milestone_review" in blocked.locator("[data-testid=outcome]").inner_text()
    would = report.locator("[data-testid=outcome]:text-is('Would move')").count()
    assert would >= 1
    screenshot(page, "workflow-migration-preview")
    with app.app_context():
        assert (
            db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "migration")).all() == []
        )

    page.click(f"button:has-text('to v{version}')")
    page.wait_for_selector(f"h2:has-text('Migrated to v{version}')")
    report = page.locator("[data-testid=migration-report]")
    assert f"{would} moved, 1 cannot move" in report.locator("[data-testid=summary]").inner_text()
    assert report.locator("[data-testid=outcome]:text-is('Moved')").count() == would
    screenshot(page, "workflow-migration-result")
    with app.app_context():
        audits = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "migration")).all()
        assert len(audits) == would and {a.data["to_version"] for a in audits} == {version}
        stuck = db.session.scalars(select(Engagement).where(Engagement.title == BLOCKED)).one()
        assert stuck.workflow_version == version - 1
        db.session.remove()


def test_a_manager_creates_an_engagement_on_the_other_workflow(server, page):
    app, _, base = server
    login(page, base, "manager@example.com")
    page.goto(f"{base}/engagements/new")
    assert page.locator("[data-testid=workflow-staff_augmentation]").is_checked()
    page.click("[data-testid=diagram-fractional_lead] summary")
    assert page.locator("[data-testid=diagram-fractional_lead] svg").is_visible()
    page.check("[data-testid=workflow-fractional_lead]")
    page.fill("#title", "Part-time ML lead")
    page.select_option("#provider_id", label="Northwind ML")
    page.fill("#monthly_cost", "9000")
    screenshot(page, "new-engagement-workflow-choice")
    page.click("button:has-text('Create engagement')")
    page.wait_for_selector("[data-testid=engagement-header]")
    assert "created in" in page.locator(".flash").inner_text()
    with app.app_context():
        created = db.session.scalars(
            select(Engagement).where(Engagement.title == "Part-time ML lead")
        ).one()
        assert created.workflow_name == "fractional_lead"
        db.session.remove()
