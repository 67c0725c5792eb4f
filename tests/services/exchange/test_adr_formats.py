"""ADR export/import: each profile round-trips, adr-tools' exact layout, all-or-nothing import."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import make_engagement, make_user
from tracker.errors import Forbidden, ValidationFailed
from tracker.extensions import db
from tracker.models import Adr
from tracker.services.exchange import adr_exchange
from tracker.services.exchange.adr_formats import PROFILES, parse_files, render_all
from tracker.services.knowledge import adrs

CONTEXT = "We run **three** services.\n\n## Background\n\n- legacy MySQL\n- <script>x</script>"


@pytest.fixture
def engagement_with_adrs(ctx):
    """ADR 1 superseded by 2 (accepted), 3 rejected, 4 deprecated, 5 proposed."""
    manager = make_user("manager")
    engagement = make_engagement(manager, title="Fraud model refresh")
    day = date(2025, 3, 4)
    first = adrs.create_adr(
        manager,
        engagement.id,
        {"title": "Use MySQL", "status": "accepted", "context": CONTEXT, "decided_on": day},
    )
    adrs.create_adr(
        manager,
        engagement.id,
        {
            "title": "Use PostgreSQL: for JSON & scale!",
            "status": "accepted",
            "supersedes_id": first.id,
            "deciders": "Dana Lee, Priya Raman",
            "decision": "Move to PostgreSQL 16.",
            "consequences": "Migrate data.\n\nRetire MySQL.",
            "decided_on": day,
        },
    )
    third = adrs.create_adr(manager, engagement.id, {"title": "Use Kafka", "decided_on": day})
    adrs.decide_adr(manager, third.id, "rejected")
    fourth = adrs.create_adr(
        manager, engagement.id, {"title": "Nightly batch", "status": "accepted"}
    )
    adrs.decide_adr(manager, fourth.id, "deprecated")
    adrs.create_adr(manager, engagement.id, {"title": "Feature store", "context": "Open question"})
    return manager, engagement


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_profile_round_trips_to_the_same_records(engagement_with_adrs, profile):
    manager, engagement = engagement_with_adrs
    original = adr_exchange.records_for(adrs.list_adrs(manager, engagement.id))
    files = adr_exchange.export_files(manager, engagement.id, profile)
    parsed, errors = parse_files(files)
    assert errors == {}
    assert parsed == original
    assert [r.status for r in parsed] == [
        "superseded",
        "accepted",
        "rejected",
        "deprecated",
        "proposed",
    ]
    assert parsed[1].supersedes == 1


def test_adr_tools_export_has_the_names_and_lines_the_tool_expects(engagement_with_adrs):
    manager, engagement = engagement_with_adrs
    data = adr_exchange.export_zip(manager, engagement.id, "adr-tools")
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == [
        "doc/adr/0001-use-mysql.md",
        "doc/adr/0002-use-postgresql-for-json-scale.md",
        "doc/adr/0003-use-kafka.md",
        "doc/adr/0004-nightly-batch.md",
        "doc/adr/0005-feature-store.md",
    ]
    old = archive.read("doc/adr/0001-use-mysql.md").decode()
    new = archive.read("doc/adr/0002-use-postgresql-for-json-scale.md").decode()
    assert old.startswith("# 1. Use MySQL\n\nDate: 2025-03-04\n\n## Status\n\n")
    assert (
        "## Status\n\nSuperceded by [2. Use PostgreSQL: for JSON & scale!]"
        "(0002-use-postgresql-for-json-scale.md)\n\n## Context\n\n" in old
    )
    assert new.splitlines()[0] == "# 2. Use PostgreSQL: for JSON & scale!"
    assert "## Status\n\nAccepted\n\nSupercedes [1. Use MySQL](0001-use-mysql.md)\n\n" in new
    for heading in ("## Context", "## Decision", "## Consequences"):
        assert f"\n{heading}\n" in new


def test_madr_and_log4brains_headers(engagement_with_adrs):
    manager, engagement = engagement_with_adrs
    madr = adr_exchange.export_files(manager, engagement.id, "madr")
    text = madr["docs/decisions/0002-use-postgresql-for-json-scale.md"]
    assert text.startswith("---\nstatus: accepted\ndate: '2025-03-04'\n")
    assert "decision-makers: Dana Lee, Priya Raman\n---\n\n# Use PostgreSQL" in text
    assert "## Context and Problem Statement" in text and "### Consequences" in text
    old = madr["docs/decisions/0001-use-mysql.md"]
    assert "status: superseded by [ADR-0002](0002-use-postgresql-for-json-scale.md)" in old
    l4b = adr_exchange.export_files(manager, engagement.id, "log4brains")
    text = l4b["docs/adr/0002-use-postgresql-for-json-scale.md"]
    assert "\n\n- Status: accepted\n- Date: 2025-03-04\n- Deciders: Dana Lee, Priya Raman\n" in text
    assert ".log4brains.yml" in l4b


@pytest.mark.parametrize("profile", list(PROFILES))
def test_import_into_another_engagement_keeps_numbers_and_links(engagement_with_adrs, profile):
    manager, engagement = engagement_with_adrs
    data = adr_exchange.export_zip(manager, engagement.id, profile)
    target = make_engagement(manager)
    created = adr_exchange.import_files(manager, target.id, adr_exchange.files_from_zip(data))
    assert len(created) == 5
    imported = adr_exchange.records_for(adrs.list_adrs(manager, target.id))
    assert imported == adr_exchange.records_for(adrs.list_adrs(manager, engagement.id))
    assert [r.change for r in adrs.list_adrs(manager, target.id)[0].revisions] == ["imported"]


def test_bad_files_are_named_and_nothing_is_imported(engagement_with_adrs, tmp_path):
    manager, engagement = engagement_with_adrs
    files = adr_exchange.export_files(manager, engagement.id, "adr-tools")
    files["doc/adr/0007-broken.md"] = "# 7. Broken\n\nDate: yesterday\n\n## Status\n\nAccepted\n"
    files["doc/adr/0008-nonsense.md"] = "just some notes"
    files["doc/adr/README.md"] = "# Decisions"  # ignored, not an error
    target = make_engagement(manager)
    with pytest.raises(ValidationFailed) as error:
        adr_exchange.import_files(manager, target.id, files)
    assert set(error.value.errors) == {"doc/adr/0007-broken.md", "doc/adr/0008-nonsense.md"}
    assert db.session.scalars(select(Adr).where(Adr.engagement_id == target.id)).all() == []


def test_import_refuses_numbers_already_taken(engagement_with_adrs):
    manager, engagement = engagement_with_adrs
    files = adr_exchange.export_files(manager, engagement.id, "madr")
    with pytest.raises(ValidationFailed) as error:
        adr_exchange.import_files(manager, engagement.id, files)
    assert "ADR 1" in error.value.errors
    assert len(adrs.list_adrs(manager, engagement.id)) == 5


def test_providers_cannot_import_and_unknown_profiles_are_refused(engagement_with_adrs):
    manager, engagement = engagement_with_adrs
    provider = make_user("provider", provider="Northwind ML")
    files = render_all([], "adr-tools")
    with pytest.raises(Forbidden):
        adr_exchange.import_files(provider, engagement.id, files)
    with pytest.raises(ValidationFailed) as error:
        adr_exchange.export_files(manager, engagement.id, "confluence")
    assert "profile" in error.value.errors


def test_not_a_zip_is_a_validation_error():
    with pytest.raises(ValidationFailed) as error:
        adr_exchange.files_from_zip(b"not a zip")
    assert "file" in error.value.errors


def test_cli_export_then_import_a_folder(app, tmp_path):
    with app.app_context():
        admin = make_user("admin")
        engagement = make_engagement(make_user("manager"))
        adrs.create_adr(admin, engagement.id, {"title": "Use MLflow", "status": "accepted"})
        target = make_engagement(make_user("manager"))
        source_id, target_id = engagement.id, target.id
    out = tmp_path / "adrs.zip"
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["adr", "export", str(source_id), "--profile", "madr", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "unzipped"
    zipfile.ZipFile(out).extractall(folder)
    result = runner.invoke(args=["adr", "import", str(target_id), str(folder)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 ADR" in result.output
    bad = runner.invoke(args=["adr", "import", str(target_id), str(folder)])
    assert bad.exit_code != 0 and "already has an ADR" in bad.output
    with app.app_context():
        titles = db.session.scalars(select(Adr.title).where(Adr.engagement_id == target_id))
        assert list(titles) == ["Use MLflow"]
