"""Admin pages for workflow definitions: the versions in use, broken files, migrations.

/admin/workflows lists every definition version (from files, records and engagements)
with how many engagements run on it, and every malformed file with its errors (ADR
0131). /admin/workflows/<name>/migrate previews a migration (a dry run: the same
service call as the real one, rolled back) and runs it; `flask workflows migrate`
calls the same `workflow_migration.migrate_engagements`. Not an admin: 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from tracker.errors import NotFound, TrackerError
from tracker.services.workflow import workflow_migration, workflow_registry
from tracker.web.support.forms import WorkflowMigrationForm

bp = Blueprint("workflows_admin", __name__, url_prefix="/admin/workflows")


@bp.before_request
@login_required
def admins_only():
    """For admins; anyone else is answered as if the pages did not exist."""
    if not current_user.is_admin:
        abort(404)


@bp.get("")
def index():
    """Every definition version, its engagements (all and open), and the broken files."""
    return render_template(
        "workflows_admin/workflows.html",
        summaries=workflow_registry.definition_summaries(),
        definition_errors=workflow_registry.definition_errors(),
        default_name=workflow_registry.default_workflow_name(),
    )


def _versions(name: str):
    try:
        return workflow_registry.versions_of(name)
    except NotFound:
        abort(404)


def _form(versions, formdata) -> WorkflowMigrationForm:
    form = WorkflowMigrationForm(formdata=formdata, meta={"csrf": request.method == "POST"})
    targets = [row.version for row in versions if row.file or row.recorded]
    form.to_version.choices = [(v, f"v{v}") for v in reversed(targets)]
    if form.to_version.data is None and targets:
        form.to_version.data = targets[-1]
    return form


def _run(name: str, form: WorkflowMigrationForm, *, dry_run: bool):
    """The report, or the service's error placed on the form (status 4xx)."""
    try:
        state_map = workflow_migration.parse_state_map(form.state_map.data or "")
        report = workflow_migration.migrate_engagements(
            name, form.to_version.data, state_map, dry_run=dry_run, actor=current_user
        )
    except TrackerError as error:
        messages = [m for ms in (error.errors or {}).values() for m in ms] or [error.message]
        form.state_map.errors = list(form.state_map.errors or []) + messages
        return None, error.status
    return report, 200


@bp.get("/<name>/migrate")
def migrate_preview(name: str):
    """What migrating every open engagement to the chosen version would do; nothing changes."""
    versions = _versions(name)
    form = _form(versions, request.args or None)
    report, status = None, 200
    if not form.to_version.choices:
        pass  # nothing on file or recorded to migrate to: the page says why
    elif form.validate():
        report, status = _run(name, form, dry_run=True)
    else:
        status = 422
    return _page(name, versions, form, report), status


@bp.post("/<name>/migrate")
def migrate_run(name: str):
    """Migrate: each engagement that can move does, in its own transaction, audited."""
    versions = _versions(name)
    form = _form(versions, request.form)
    if not form.validate():
        return _page(name, versions, form, None), 422
    report, status = _run(name, form, dry_run=False)
    if report is not None:
        versions = _versions(name)  # the counts after the move
    return _page(name, versions, form, report), status


def _page(name, versions, form, report):
    return render_template(
        "workflows_admin/workflows_migrate.html",
        name=name,
        versions=versions,
        form=form,
        report=report,
        errors=workflow_registry.definition_errors(),
    )
