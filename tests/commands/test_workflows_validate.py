"""`flask workflows validate`: every error with file and entry, exit 1; one OK line per file."""

from __future__ import annotations

from tests.commands.conftest import V1_BYTES

BROKEN = (
    V1_BYTES.decode()
    .replace(
        'guards = ["period_milestones_final"]\ninputs = [\n',
        'guards = ["periodd_milestones_final"]\ninputs = [\n',
        1,
    )
    .replace('label = "Closed"\n', 'label = "Closed"\ngaurds = []\n', 1)
)


def test_validate_shipped_directory_prints_one_ok_line_per_definition(app):
    result = app.test_cli_runner().invoke(args=["workflows", "validate"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("OK fractional_lead.toml: fractional_lead v3")
    assert lines[1].startswith("OK staff_augmentation.toml: staff_augmentation v5, 7 states")


def test_validate_reports_every_error_naming_file_and_entry(cli, tmp_path):
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    (drafts / "broken.toml").write_text(BROKEN)
    (drafts / "fine.toml").write_bytes(V1_BYTES.replace(b"staff_augmentation", b"fine_copy"))
    result = cli("validate", str(drafts))
    assert result.exit_code == 1
    assert (
        "broken.toml: transitions[2] (extend): unknown guard 'periodd_milestones_final'"
        in result.output
    )
    assert "broken.toml: states.closed: unknown key 'gaurds'" in result.output
    assert "2 error(s)." in result.output
    assert "OK " not in result.output


def test_validate_one_file_and_invalid_toml(cli, tmp_path):
    good = tmp_path / "good.toml"
    good.write_bytes(V1_BYTES)
    ok = cli("validate", str(good))
    assert ok.exit_code == 0 and ok.output.startswith("OK good.toml: staff_augmentation v1")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nversion = ')
    result = cli("validate", str(bad))
    assert result.exit_code == 1
    assert "bad.toml: invalid TOML" in result.output


def test_validate_refuses_a_missing_path_and_an_empty_directory(cli, tmp_path):
    missing = cli("validate", str(tmp_path / "nope.toml"))
    assert missing.exit_code == 1 and "nope.toml: no such file or directory" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("validate", str(empty))
    assert result.exit_code == 1 and "no *.toml workflow definitions found" in result.output


def test_validate_defaults_to_the_configured_directory(cli, workflow_dir):
    (workflow_dir / "extra.toml").write_text(BROKEN)
    result = cli("validate")
    assert result.exit_code == 1
    assert "extra.toml: transitions[2] (extend)" in result.output
