"""Exporting an engagement's ADRs as a zip and importing a folder or zip of ADR files.

Import is all or nothing: every file is parsed and checked first; one bad file
(or a number the engagement already uses) refuses the whole import and names it.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqlalchemy import select

from tracker.auth.permissions import Action, get_visible_engagement, require
from tracker.errors import ValidationFailed
from tracker.extensions import db
from tracker.models import Adr, User
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.exchange.adr_formats import PROFILES, AdrRecord, parse_files, render_all
from tracker.services.knowledge import adrs

MAX_FILES = 2000
MAX_BYTES = 20 * 1024 * 1024  # uncompressed, all files together


def records_for(rows: list[Adr]) -> list[AdrRecord]:
    """Database rows -> plain records (supersede links by number)."""
    return [
        AdrRecord(
            number=a.number,
            title=a.title,
            status=a.status,
            decided_on=a.decided_on,
            deciders=a.deciders,
            context=a.context,
            decision=a.decision,
            consequences=a.consequences,
            supersedes=a.supersedes.number if a.supersedes is not None else None,
        )
        for a in rows
    ]


def export_files(actor: User, engagement_id: int, profile: str) -> dict[str, str]:
    """The engagement's ADRs as files (path -> text) in the chosen profile."""
    if profile not in PROFILES:
        raise ValidationFailed(
            "Unknown export profile.", errors={"profile": [f"Choose one of {', '.join(PROFILES)}."]}
        )
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return render_all(records_for(adrs.list_adrs(actor, engagement.id)), profile, engagement.title)


def export_zip(actor: User, engagement_id: int, profile: str) -> bytes:
    """A zip of export_files, ready to download or write to disk."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in export_files(actor, engagement_id, profile).items():
            archive.writestr(path, text)
    return buffer.getvalue()


def files_from_zip(data: bytes) -> dict[str, str]:
    """Markdown files in a zip (path -> text); a broken or oversized zip is refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
        _check_size(len(members), sum(m.file_size for m in members))
        return {m.filename: _decode(m.filename, archive.read(m)) for m in members}
    except zipfile.BadZipFile as exc:
        raise ValidationFailed(
            "The upload is not a zip file.", errors={"file": [str(exc)]}
        ) from exc


def files_from_folder(folder: Path) -> dict[str, str]:
    """Markdown files under a folder, recursively (path relative to it -> text)."""
    paths = [p for p in sorted(folder.rglob("*.md")) if p.is_file()]
    _check_size(len(paths), sum(p.stat().st_size for p in paths))
    return {str(p.relative_to(folder)): _decode(str(p), p.read_bytes()) for p in paths}


def _check_size(count: int, size: int) -> None:
    if count > MAX_FILES or size > MAX_BYTES:
        raise ValidationFailed(
            "Too many or too large files to import.",
            errors={"file": [f"At most {MAX_FILES} files and {MAX_BYTES // 2**20} MB."]},
        )


def _decode(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "A file is not UTF-8 text.", errors={name: ["The file is not UTF-8 text."]}
        ) from exc


def import_files(actor: User, engagement_id: int, files: dict[str, str]) -> list[Adr]:
    """Create one ADR per file, numbers and links kept; any problem imports nothing."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.DECIDE_ADR, engagement)
    records, errors = parse_files(files)
    taken = set(db.session.scalars(select(Adr.number).where(Adr.engagement_id == engagement.id)))
    for record in records:
        if record.number in taken:
            errors[f"ADR {record.number}"] = "The engagement already has an ADR with this number."
    if not records and not errors:
        errors["file"] = "No ADR files found."
    if errors:
        raise ValidationFailed(
            f"Nothing was imported: {len(errors)} problem(s).",
            errors={name: [problem] for name, problem in errors.items()},
        )
    created = _create_rows(actor, engagement.id, records)
    audit.record(engagement, actor, "adrs_imported", data={"count": len(created)})
    commit_and_derive()
    return created


def _create_rows(actor: User, engagement_id: int, records: list[AdrRecord]) -> list[Adr]:
    rows: dict[int, Adr] = {}
    for record in records:
        rows[record.number] = Adr(
            engagement_id=engagement_id,
            number=record.number,
            title=record.title[:200],
            status=record.status,
            decided_on=record.decided_on,
            deciders=record.deciders[:500],
            context=record.context,
            decision=record.decision,
            consequences=record.consequences,
            author_id=actor.id,
        )
        db.session.add(rows[record.number])
    for record in records:
        if record.supersedes is not None:
            rows[record.number].supersedes = rows[record.supersedes]
    db.session.flush()
    for row in rows.values():
        adrs.record_revision(row, actor, "imported")
    return list(rows.values())
