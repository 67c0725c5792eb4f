"""Binding between the pure workflow engine and the database: loading, versions, records.

Definitions are files in WORKFLOW_DIR. The first time a (name, version) is used,
its content hash and text are recorded in WorkflowDefinitionRecord; from then on a
file that keeps that version but says something else is refused (running
engagements were started on what it used to say), and a version whose file was
removed is still served from the recorded text.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from tracker.core.upsert import insert
from tracker.errors import Conflict, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import Engagement, WorkflowDefinitionRecord
from tracker.services.core.transactions import commit_and_derive
from workflows import (
    Catalog,
    Definition,
    InvalidDefinition,
    UnknownDefinition,
    load_definition,
    parse_definition,
    to_svg,
)

log = logging.getLogger(__name__)


class DefinitionChanged(Conflict):
    """A definition file changed but kept a version number that is already in use."""

    code = "workflow_definition_changed"


class DefinitionMissing(Conflict):
    """Neither a file nor a recorded copy of this definition version exists."""

    code = "workflow_definition_missing"


def _fingerprint(directory: str) -> tuple:
    """What the directory holds now: a changed, added or removed file changes this.

    Checked on every look-up, so it is one directory read and a stat per file
    (`os.scandir`); `Path.glob` and `Path.resolve` cost ten times that on every
    milestone update (issue 29)."""
    with os.scandir(directory) as entries:
        found = [
            (entry.name, stat.st_mtime_ns, stat.st_size)
            for entry in entries
            if entry.name.endswith(".toml")
            for stat in (entry.stat(),)
        ]
    return tuple(sorted(found))


@lru_cache(maxsize=8)
def _resolved(directory: str) -> str:
    return os.path.realpath(directory)


class DefinitionBroken(Conflict):
    """The file for this workflow is malformed: only its engagements are refused (ADR 0131)."""

    code = "workflow_definition_broken"


@lru_cache(maxsize=8)
def _catalog(directory: str, fingerprint: tuple) -> Catalog:
    catalog = Catalog.load(Path(directory), strict=False)
    for file, errors in catalog.errors.items():
        log.error("workflow definition %s is disabled: %s", file, "; ".join(errors))
    return catalog


def definition_errors() -> dict[str, list[str]]:
    """The malformed files in WORKFLOW_DIR (file name -> errors); the others still work."""
    return catalog().errors


def _refuse_if_broken(name: str, found: Catalog | None = None) -> None:
    """Raise DefinitionBroken naming the file when a malformed file holds `name`
    (`found`: the catalog the caller already holds, so the files are looked at once)."""
    found = catalog() if found is None else found
    broken = found.broken_files_for(name)
    if broken:
        details = "; ".join(e for file in broken for e in found.errors[file])
        message = (
            f"The workflow definition file {', '.join(broken)} is malformed, so engagements "
            f"on '{name}' are paused until it is fixed: {details}"
        )
        raise DefinitionBroken(message, errors={"workflow_definition": [message]})


def load_catalog(directory: str | Path) -> Catalog:
    """The definitions in `directory`, parsed again only when a file there changed."""
    resolved = _resolved(os.fspath(directory))
    return _catalog(resolved, _fingerprint(resolved))


def catalog() -> Catalog:
    """The definitions in WORKFLOW_DIR (validated; cached until a file changes)."""
    return load_catalog(current_app.config["WORKFLOW_DIR"])


def latest_definition(name: str | None = None) -> Definition:
    """The newest version of a definition (the configured default when no name is given).

    This is what new engagements start on, so it is recorded (or checked against
    its record) here; the caller's commit keeps the record.
    """
    name = name or current_app.config["DEFAULT_WORKFLOW"]
    _refuse_if_broken(name)  # the broken file may be the newest version
    try:
        definition = catalog().latest(name)
    except UnknownDefinition as exc:
        raise ValidationFailed(str(exc), errors={"workflow_name": [str(exc)]}) from exc
    ensure_recorded(definition)
    return definition


def definition_for(name: str, version: int) -> Definition:
    """The exact version a running engagement is on: its file, else its recorded text."""
    found = catalog()
    try:
        definition = found.get(name, version)
    except UnknownDefinition:
        _refuse_if_broken(name, found)
        return stored_definition(name, version)
    ensure_recorded(definition)
    return definition


def _verified() -> set:
    """(name, version, hash) already checked against this app's database by this process."""
    return current_app.extensions.setdefault("workflow_definitions_verified", set())


def ensure_recorded(definition: Definition) -> None:
    """Record a first-seen definition; refuse one whose content changed under the same version.

    Records are immutable, so a committed, matching record is remembered per app.
    """
    key = (definition.name, definition.version, definition.content_hash)
    if key in _verified():
        return
    record = find_record(definition.name, definition.version)
    if record is None:
        # Not remembered as verified: the caller's transaction may still roll the row back.
        _insert_record(definition)
        record = find_record(definition.name, definition.version)
    elif record.content_hash == definition.content_hash:
        _verified().add(key)
    if record.content_hash != definition.content_hash:
        message = changed_message(definition, record)
        log.error(message)
        raise DefinitionChanged(message, errors={"version": [message]})


def find_record(name: str, version: int) -> WorkflowDefinitionRecord | None:
    """The stored record of (name, version), if it was ever used."""
    return db.session.scalars(
        select(WorkflowDefinitionRecord).where(
            WorkflowDefinitionRecord.name == name, WorkflowDefinitionRecord.version == version
        )
    ).first()


def changed_message(definition: Definition, record: WorkflowDefinitionRecord) -> str:
    """The error an author sees: which file, what changed, what to do instead."""
    file = Path(definition.source).name
    return (
        f"{file}: version: {definition.name} v{definition.version} was first recorded "
        f"with different content (hash {record.content_hash[:12]}, the file now has "
        f"{definition.content_hash[:12]}); engagements already run on the recorded "
        f"content. Restore it, or bump 'version' to {definition.version + 1} "
        f"(e.g. save the change as {definition.name}.v{definition.version + 1}.toml)."
    )


def _source_text(definition: Definition) -> str:
    """The exact text that hashed to definition.content_hash."""
    try:
        data = Path(definition.source).read_bytes()
    except OSError:
        data = b""  # removed since it was loaded: same answer as a changed file
    if hashlib.sha256(data).hexdigest() != definition.content_hash:
        raise DefinitionChanged(
            f"{Path(definition.source).name}: the file changed while it was being loaded; "
            "try again."
        )
    return data.decode("utf-8")


def _insert_record(definition: Definition) -> None:
    """INSERT … ON CONFLICT DO NOTHING: two processes seeing it first cannot collide."""
    statement = (
        insert(WorkflowDefinitionRecord)
        .values(
            name=definition.name,
            version=definition.version,
            content_hash=definition.content_hash,
            source=_source_text(definition),
        )
        .on_conflict_do_nothing(index_elements=["name", "version"])
    )
    db.session.execute(statement)


def stored_definition(name: str, version: int) -> Definition:
    """A version whose file is gone, rebuilt from the text recorded when it was first used.

    A record is never changed once committed (ensure_recorded refuses a changed file), so
    a committed record's definition is remembered per app by (name, version): engagements
    on an old version pay no query for it on every change (issue 29)."""
    known = current_app.extensions.setdefault("workflow_definitions_stored_by_version", {})
    if (name, version) in known:
        return known[(name, version)]
    record = find_record(name, version)
    if record is None:
        message = f"No file and no recorded copy of workflow '{name}' version {version}."
        raise DefinitionMissing(message, errors={"workflow_version": [message]})
    cache = current_app.extensions.setdefault("workflow_definitions_stored", {})
    key = (name, version, record.content_hash)
    if key not in cache:
        cache[key] = parse_definition(
            record.source.encode("utf-8"), source=f"{name}.v{version} (recorded copy)"
        )
    # Only a file inserts a record, and this version has none: this one was committed.
    known[(name, version)] = cache[key]
    return cache[key]


def recorded_definitions() -> list[WorkflowDefinitionRecord]:
    """Every (name, version) ever used, oldest first."""
    return list(
        db.session.scalars(
            select(WorkflowDefinitionRecord).order_by(
                WorkflowDefinitionRecord.name, WorkflowDefinitionRecord.version
            )
        )
    )


@dataclass
class ValidationReport:
    """What `flask workflows validate` found: the valid definitions, every error, notes."""

    definitions: list[Definition] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.errors


def validate_path(path: str | Path) -> ValidationReport:
    """Validate a definition file or a directory of them, and compare with the records.

    Read-only: a draft can be validated again and again without being recorded.
    """
    report = ValidationReport()
    try:
        report.definitions = _load_path(Path(path))
    except InvalidDefinition as exc:
        report.errors.extend(exc.errors)
        return report
    try:
        report.errors.extend(_record_conflicts(report.definitions))
    except SQLAlchemyError as exc:
        db.session.rollback()
        report.warnings.append(f"not compared with recorded versions (database: {exc})")
    return report


def _load_path(path: Path) -> list[Definition]:
    if path.is_dir():
        found = list(Catalog.load(path))
        if not found:
            raise InvalidDefinition([f"{path}: no *.toml workflow definitions found"])
        return found
    if not path.exists():
        raise InvalidDefinition([f"{path}: no such file or directory"])
    return [load_definition(path)]


def _record_conflicts(definitions: list[Definition]) -> list[str]:
    messages = []
    for definition in definitions:
        record = find_record(definition.name, definition.version)
        if record is not None and record.content_hash != definition.content_hash:
            messages.append(changed_message(definition, record))
    return messages


def sync_definitions(path: str | Path | None = None) -> ValidationReport:
    """Validate WORKFLOW_DIR (or `path`) and record every definition not recorded yet."""
    report = validate_path(path or current_app.config["WORKFLOW_DIR"])
    if report.ok:
        for definition in report.definitions:
            ensure_recorded(definition)
        commit_and_derive()
    return report


@dataclass(frozen=True)
class DefinitionSummary:
    """One (name, version): where it comes from and how many engagements run on it."""

    name: str
    version: int
    content_hash: str | None
    file: str | None
    recorded: bool
    engagements: int
    open_engagements: int = 0


def _engagement_counts() -> dict[tuple[str, int], tuple[int, int]]:
    """(name, version) -> (all engagements, open ones), in one grouped query."""
    open_ = func.count(Engagement.id).filter(Engagement.closed_at.is_(None))
    rows = db.session.execute(
        select(Engagement.workflow_name, Engagement.workflow_version, func.count(), open_).group_by(
            Engagement.workflow_name, Engagement.workflow_version
        )
    )
    return {(name, version): (count, opened) for name, version, count, opened in rows}


def definition_summaries() -> list[DefinitionSummary]:
    """Every version known from files, records or engagements, with its engagement count."""
    counts = _engagement_counts()
    files = {(d.name, d.version): d for d in catalog()}
    records = {(r.name, r.version): r for r in recorded_definitions()}
    summaries = []
    for key in sorted(set(counts) | set(files) | set(records)):
        definition, record = files.get(key), records.get(key)
        digest = definition.content_hash if definition else None
        summaries.append(
            DefinitionSummary(
                name=key[0],
                version=key[1],
                content_hash=digest or (record.content_hash if record else None),
                file=Path(definition.source).name if definition else None,
                recorded=record is not None,
                engagements=counts.get(key, (0, 0))[0],
                open_engagements=counts.get(key, (0, 0))[1],
            )
        )
    return summaries


@dataclass(frozen=True)
class WorkflowChoice:
    """A workflow a new engagement may start on: the newest version of one name."""

    name: str
    version: int
    title: str
    description: str
    default: bool
    versions: tuple[int, ...]


def workflow_choices() -> list[WorkflowChoice]:
    """The workflows a new engagement can run on (newest version each), the default first.

    A name with a malformed file is left out: creating on it is refused (ADR 0131)."""
    cat, default = catalog(), current_app.config["DEFAULT_WORKFLOW"]
    choices = [
        WorkflowChoice(
            name=name,
            version=cat.latest(name).version,
            title=cat.latest(name).title,
            description=cat.latest(name).description,
            default=name == default,
            versions=tuple(cat.versions(name)),
        )
        for name in cat.names()
        if not cat.broken_files_for(name)
    ]
    return sorted(choices, key=lambda choice: (not choice.default, choice.title))


_DIAGRAMS: dict[tuple[str, int, str], str] = {}


def diagram_svg(name: str, version: int | None = None) -> str:
    """The lifecycle diagram of a definition (newest version by default), drawn once."""
    definition = catalog().get(name, version) if version is None else definition_for(name, version)
    key = (definition.name, definition.version, definition.content_hash)
    if key not in _DIAGRAMS:
        _DIAGRAMS[key] = to_svg(definition)
    return _DIAGRAMS[key]


def versions_of(name: str) -> list[DefinitionSummary]:
    """Every known version of one workflow with its counts; NotFound for a name nobody knows."""
    rows = [row for row in definition_summaries() if row.name == name]
    if not rows and not catalog().broken_files_for(name):
        raise NotFound(f"No workflow named '{name}'.")
    return rows


def default_workflow_name() -> str:
    """The workflow new engagements start on when none is chosen (DEFAULT_WORKFLOW)."""
    return current_app.config["DEFAULT_WORKFLOW"]
