"""docs/adr/README.md lists every ADR with its title, and only ADRs that exist (ADR 0181)."""

import re
from pathlib import Path

ADR_DIR = Path(__file__).resolve().parents[1] / "docs" / "adr"
ROW = re.compile(r"^\| \[(\d{4})\]\(([^)]+)\) \| (.+?) \| (.+?) \|")


def _files() -> dict[str, tuple[str, str]]:
    """number -> (file name, title from its first line)."""
    found = {}
    for path in sorted(ADR_DIR.glob("[0-9][0-9][0-9][0-9]-*.md")):
        heading = path.read_text(encoding="utf-8").splitlines()[0]
        found[path.name[:4]] = (path.name, re.sub(r"^#\s*\d+\.\s*", "", heading).strip())
    return found


def _index() -> dict[str, tuple[str, str, str]]:
    """number -> (linked file, title, status) as the index lists them."""
    rows = {}
    for line in (ADR_DIR / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            number, target, title, status = match.groups()
            assert number not in rows, f"ADR {number} is listed twice"
            rows[number] = (target, title, status)
    return rows


def test_every_adr_is_listed_with_its_file_and_title():
    files, index = _files(), _index()
    assert len(files) >= 60
    assert sorted(index) == sorted(files), (
        f"missing from the index: {sorted(set(files) - set(index))}; "
        f"listed but no file: {sorted(set(index) - set(files))}"
    )
    for number, (name, title) in files.items():
        target, listed_title, _status = index[number]
        assert target == name, f"ADR {number} links {target}, the file is {name}"
        assert listed_title == title, f"ADR {number}: index says {listed_title!r}"


def test_every_status_is_one_of_the_words_the_index_defines():
    for number, (_target, _title, status) in _index().items():
        assert status.split(",")[0] in {"Accepted", "Amended", "Superseded"}, (number, status)


def test_the_rule_is_written_down():
    text = (ADR_DIR / "README.md").read_text(encoding="utf-8")
    assert "An ADR records a decision with its alternatives, not a change." in text


CITED_TEST = re.compile(r"\btests/[A-Za-z0-9_/]+\.py\b")


def test_the_test_files_an_adr_cites_exist():
    """An ADR's Consequences name the tests that hold the decision; a renamed or moved
    test file must take its citations along (ADR 0202 once cited one that was never there)."""
    root = ADR_DIR.parents[1]
    missing = {
        (path.name[:4], cited)
        for path in ADR_DIR.glob("[0-9][0-9][0-9][0-9]-*.md")
        for cited in CITED_TEST.findall(path.read_text(encoding="utf-8"))
        if not (root / cited).exists()
    }
    assert not missing, sorted(missing)
