"""ADR files in the layouts standard tools read: adr-tools, MADR 4 and log4brains (pure text).

Writing follows each tool's own template: adr-tools' `template.md` and the links its
`adr new -s` writes ("Supercedes [N. Title](file)" / "Superceded by [N. Title](file)",
spelled as the tool spells them); MADR 4's YAML front matter (status, date,
decision-makers) and its section headings; log4brains' bullet list under the title.
Reading accepts all three and reports every bad file by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

import yaml

PROFILES = {
    "adr-tools": "doc/adr",
    "madr": "docs/decisions",
    "log4brains": "docs/adr",
}
STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
IGNORED_NAMES = {"readme.md", "index.md", "template.md", "adr-template.md"}
_NUMBERED_NAME = re.compile(r"^(\d{1,6})-[^/]*\.md$")
_ADR_TOOLS_TITLE = re.compile(r"^# (\d+)\. (.+)$")
_LINK = re.compile(r"\[[^\]]*\]\((?:\./)?(\d+)-[^)]*\.md\)")
_SUPERSEDES = re.compile(r"^(?:- )?Super[cs]edes \[[^\]]*\]\((?:\./)?(\d+)-", re.MULTILINE)


class FormatError(ValueError):
    """A file that is not a readable ADR; the message says why."""


@dataclass(frozen=True)
class AdrRecord:
    """An ADR as plain data, independent of any file layout or database row."""

    number: int
    title: str
    status: str
    decided_on: date
    deciders: str = ""
    context: str = ""
    decision: str = ""
    consequences: str = ""
    supersedes: int | None = None  # the number of the ADR this one supersedes


def slug(title: str) -> str:
    """adr-tools' slug: runs of non-alphanumerics become one dash, lower case, trimmed."""
    return re.sub(r"[^A-Za-z0-9]+", "-", title).lower().strip("-") or "decision"


def file_name(record: AdrRecord) -> str:
    return f"{record.number:04d}-{slug(record.title)}.md"


def render_all(records: list[AdrRecord], profile: str, project: str = "") -> dict[str, str]:
    """Every file of the export, path -> text, in the chosen profile's layout."""
    folder = PROFILES[profile]
    by_number = {r.number: r for r in records}
    superseded_by = {r.supersedes: r for r in records if r.supersedes in by_number}
    writer = _WRITERS[profile]
    files = {
        f"{folder}/{file_name(r)}": writer(r, by_number, superseded_by.get(r.number))
        for r in sorted(records, key=lambda r: r.number)
    }
    if profile == "log4brains":
        files[".log4brains.yml"] = yaml.safe_dump(
            {"project": {"name": project or "ADRs", "tz": "UTC", "adrFolder": f"./{folder}"}},
            sort_keys=False,
        )
    return files


def _adr_tools(record: AdrRecord, by_number: dict, newer: AdrRecord | None) -> str:
    lines = [f"# {record.number}. {record.title}", "", f"Date: {record.decided_on.isoformat()}"]
    if record.deciders:
        lines += ["", f"Deciders: {record.deciders}"]
    lines += ["", "## Status", ""]
    # `adr new -s` removes "Accepted" from the old record and appends the link.
    if record.status != "superseded":
        lines += [record.status.capitalize(), ""]
    older = by_number.get(record.supersedes)
    if older is not None:
        lines += [f"Supercedes [{older.number}. {older.title}]({file_name(older)})", ""]
    if newer is not None:
        lines += [f"Superceded by [{newer.number}. {newer.title}]({file_name(newer)})", ""]
    elif record.status == "superseded":
        lines += ["Superceded", ""]
    for heading, body in _bodies(record, ("Context", "Decision", "Consequences")):
        lines += [f"## {heading}", "", body, ""]
    return "\n".join(lines)


def _bodies(record: AdrRecord, headings: tuple[str, str, str]):
    texts = (record.context, record.decision, record.consequences)
    return [(h, t.strip()) for h, t in zip(headings, texts, strict=True)]


def _status_words(record: AdrRecord, newer: AdrRecord | None, link_text: str) -> str:
    if record.status == "superseded" and newer is not None:
        return f"superseded by [{link_text.format(r=newer)}]({file_name(newer)})"
    return record.status


def _madr(record: AdrRecord, by_number: dict, newer: AdrRecord | None) -> str:
    meta = {
        "status": _status_words(record, newer, "ADR-{r.number:04d}"),
        "date": record.decided_on.isoformat(),
        "decision-makers": record.deciders,
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    context, decision, consequences = _bodies(record, ("", "", ""))
    lines = ["---", front.rstrip("\n"), "---", "", f"# {record.title}", ""]
    lines += ["## Context and Problem Statement", "", context[1], ""]
    lines += ["## Decision Outcome", "", decision[1], ""]
    lines += ["### Consequences", "", consequences[1], ""]
    return "\n".join(lines + _more_information(record, by_number, "ADR-{r.number:04d}"))


def _more_information(record: AdrRecord, by_number: dict, link_text: str) -> list[str]:
    older = by_number.get(record.supersedes)
    if older is None:
        return []
    link = f"[{link_text.format(r=older)}]({file_name(older)})"
    return ["## More Information", "", f"Supersedes {link}", ""]


def _log4brains(record: AdrRecord, by_number: dict, newer: AdrRecord | None) -> str:
    lines = [f"# {record.title}", ""]
    lines += [f"- Status: {_status_words(record, newer, '{r.title}')}"]
    lines += [f"- Date: {record.decided_on.isoformat()}"]
    if record.deciders:
        lines += [f"- Deciders: {record.deciders}"]
    context, decision, consequences = _bodies(record, ("", "", ""))
    lines += ["", "## Context and Problem Statement", "", context[1], ""]
    lines += ["## Decision Outcome", "", decision[1], ""]
    lines += ["### Consequences", "", consequences[1], ""]
    older = by_number.get(record.supersedes)
    if older is not None:
        lines += ["## Links", "", f"- Supersedes [{older.title}]({file_name(older)})", ""]
    return "\n".join(lines)


_WRITERS = {"adr-tools": _adr_tools, "madr": _madr, "log4brains": _log4brains}


# --- reading ---------------------------------------------------------------------------


def parse_files(files: dict[str, str]) -> tuple[list[AdrRecord], dict[str, str]]:
    """Parse every ADR file (path -> text); returns the records and {path: problem}."""
    records: dict[int, AdrRecord] = {}
    errors: dict[str, str] = {}
    superseded_by: dict[int, int] = {}  # old number -> new number, from "superseded by" links
    for path, text in sorted(files.items()):
        name = path.rsplit("/", 1)[-1]
        if not name.lower().endswith(".md") or name.lower() in IGNORED_NAMES:
            continue
        try:
            record, newer = parse_file(name, text)
        except FormatError as exc:
            errors[path] = str(exc)
            continue
        if record.number in records:
            errors[path] = f"ADR number {record.number} appears twice."
            continue
        records[record.number] = record
        if newer is not None:
            superseded_by[record.number] = newer
    _link_superseders(records, superseded_by, errors)
    return sorted(records.values(), key=lambda r: r.number), errors


def _link_superseders(records: dict[int, AdrRecord], superseded_by: dict, errors: dict) -> None:
    """A "superseded by" link on the old file counts like "supersedes" on the new one."""
    for old, new in superseded_by.items():
        if new in records and records[new].supersedes is None:
            records[new] = replace(records[new], supersedes=old)
    for record in records.values():
        if record.supersedes is not None and record.supersedes not in records:
            errors[file_name(record)] = f"It supersedes ADR {record.supersedes}, which is missing."


def parse_file(name: str, text: str) -> tuple[AdrRecord, int | None]:
    """One file -> (record, number of the ADR that supersedes it, if the file says so)."""
    text = text.replace("\r\n", "\n")
    first = text.lstrip("\n").split("\n", 1)[0]
    if text.startswith("---\n"):
        return _parse_madr(name, text)
    if _ADR_TOOLS_TITLE.match(first):
        return _parse_adr_tools(text)
    if re.search(r"^- Status:", text, re.MULTILINE):
        return _parse_log4brains(name, text)
    raise FormatError("Not an ADR in a known layout (adr-tools, MADR or log4brains).")


def _sections(text: str, headings: list[str]) -> tuple[str, list[str]]:
    """The text before the first heading, and under each heading (found in order)."""
    spans, position = [], 0
    for heading in headings:
        match = re.compile(rf"^{re.escape(heading)}[ \t]*$", re.MULTILINE).search(text, position)
        if match is None:
            raise FormatError(f"The '{heading}' section is missing.")
        spans.append((match.start(), match.end()))
        position = match.end()
    stops = [start for start, _ in spans[1:]] + [len(text)]
    bodies = [text[end:stop].strip() for (_, end), stop in zip(spans, stops, strict=True)]
    return text[: spans[0][0]].strip(), bodies


def _parse_date(value, label: str = "Date") -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise FormatError(f"{label} '{value}' is not a YYYY-MM-DD date.") from exc


def _parse_status(words: str) -> tuple[str, int | None]:
    """Status words -> (status, number of the superseding ADR when a link names it)."""
    lowered = words.strip().lower()
    if lowered.startswith(("superseded", "superceded")):
        link = _LINK.search(words)
        return "superseded", int(link.group(1)) if link else None
    if lowered not in STATUSES:
        raise FormatError(f"Unknown status '{words.strip()}'.")
    return lowered, None


def _supersedes(text: str) -> int | None:
    match = _SUPERSEDES.search(text)
    return int(match.group(1)) if match else None


def _parse_adr_tools(text: str) -> tuple[AdrRecord, int | None]:
    head, (status, context, decision, consequences) = _sections(
        text, ["## Status", "## Context", "## Decision", "## Consequences"]
    )
    title_match = _ADR_TOOLS_TITLE.match(head.split("\n", 1)[0])
    date_match = re.search(r"^Date: *(.+)$", head, re.MULTILINE)
    if date_match is None:
        raise FormatError("The 'Date:' line is missing.")
    deciders = re.search(r"^Deciders: *(.*)$", head, re.MULTILINE)
    state, by = _adr_tools_status(status)
    record = AdrRecord(
        number=int(title_match.group(1)),
        title=title_match.group(2).strip(),
        status=state,
        decided_on=_parse_date(date_match.group(1)),
        deciders=deciders.group(1).strip() if deciders else "",
        context=context,
        decision=decision,
        consequences=consequences,
        supersedes=_supersedes(status),
    )
    return record, by


def _adr_tools_status(section: str) -> tuple[str, int | None]:
    """The status section: one status word and/or link lines written by `adr new -s`."""
    lines = [line.strip() for line in section.split("\n") if line.strip()]
    newer = [line for line in lines if line.startswith(("Superceded", "Superseded"))]
    if newer:
        return _parse_status(newer[0])
    plain = [line for line in lines if not line.startswith(("Supercedes", "Supersedes"))]
    if not plain:
        raise FormatError("The Status section is empty.")
    return _parse_status(plain[0])


def _number_from_name(name: str) -> int:
    match = _NUMBERED_NAME.match(name)
    if match is None:
        raise FormatError("The file name must start with the ADR number (NNNN-title.md).")
    return int(match.group(1))


def _parse_madr(name: str, text: str) -> tuple[AdrRecord, int | None]:
    _, front, body = text.split("---\n", 2)
    try:
        meta = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        raise FormatError(f"The YAML front matter is invalid: {exc.problem}.") from exc
    if not isinstance(meta, dict):
        raise FormatError("The YAML front matter is not a mapping.")
    return _parse_madr_like(name, body, meta)


def _parse_madr_like(name: str, body: str, meta: dict) -> tuple[AdrRecord, int | None]:
    title_match = re.search(r"^# (.+)$", body, re.MULTILINE)
    if title_match is None:
        raise FormatError("The '# Title' line is missing.")
    rest = body[title_match.end() :]
    tail = ""
    for marker in ("\n## More Information", "\n## Links"):
        if marker in rest:
            rest, tail = rest[: rest.rindex(marker)], rest[rest.rindex(marker) :]
    _, (context, decision, consequences) = _sections(
        rest, ["## Context and Problem Statement", "## Decision Outcome", "### Consequences"]
    )
    status, by = _parse_status(str(meta.get("status") or "proposed"))
    makers = meta.get("decision-makers", meta.get("deciders", "")) or ""
    record = AdrRecord(
        number=_number_from_name(name),
        title=title_match.group(1).strip(),
        status=status,
        decided_on=_parse_date(meta.get("date", "")),
        deciders=", ".join(makers) if isinstance(makers, list) else str(makers),
        context=context,
        decision=decision,
        consequences=consequences,
        supersedes=_supersedes(tail),
    )
    return record, by


def _parse_log4brains(name: str, text: str) -> tuple[AdrRecord, int | None]:
    head, heading, rest = text.partition("\n## ")
    meta = {}
    for key, value in re.findall(r"^- (Status|Date|Deciders): *(.*)$", head, re.MULTILINE):
        meta.setdefault({"Deciders": "decision-makers"}.get(key, key.lower()), value.strip())
    head = re.sub(r"^- (Status|Date|Deciders):.*$", "", head, flags=re.MULTILINE)
    return _parse_madr_like(name, head + heading + rest, meta)
