"""Knowledge-retention artifacts: links to runbooks, architecture overviews, recordings …"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from tracker.auth.permissions import (
    Action,
    can_see,
    get_visible_engagement,
    require,
    visible_clause,
)
from tracker.errors import Forbidden, NotFound, ValidationFailed
from tracker.extensions import db
from tracker.models import Artifact, Engagement, User
from tracker.services.core import audit
from tracker.services.core.transactions import commit_and_derive
from tracker.services.delivery import checklists

KINDS = ("runbook", "architecture_overview", "recording", "access_handover", "other")


def list_artifacts(actor: User, engagement_id: int) -> list[Artifact]:
    """The engagement's links by kind, with their owners (one query)."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    return engagement_artifacts(engagement.id)


def engagement_artifacts(engagement_id: int) -> list[Artifact]:
    """`list_artifacts` without the visibility check, for callers that made it (the page)."""
    return list(db.session.scalars(_OF_ENGAGEMENT, {"engagement_id": engagement_id}))


# Built once, the engagement a bound parameter: it keeps its cache key (issue 29, ADR 0258).
_OF_ENGAGEMENT = (
    select(Artifact)
    .where(Artifact.engagement_id == bindparam("engagement_id"))
    .options(joinedload(Artifact.owner))
    .order_by(Artifact.kind, Artifact.id)
)


def get_artifact(actor: User, artifact_id: int) -> Artifact:
    """One link the actor may see, with its owner."""
    artifact = db.session.scalar(
        select(Artifact)
        .join(Engagement, Engagement.id == Artifact.engagement_id)
        .where(Artifact.id == artifact_id, visible_clause(actor))
        .options(joinedload(Artifact.owner))
    )
    if artifact is None:
        raise NotFound("Artifact not found.")
    return artifact


def add_artifact(actor: User, engagement_id: int, data: dict) -> Artifact:
    """Attach a link of a known kind; the owner defaults to whoever adds it."""
    engagement = get_visible_engagement(db.session, actor, engagement_id)
    require(actor, Action.LOG_KNOWLEDGE, engagement)
    errors = _problems(data)
    owner_id = data.get("owner_id") or actor.id
    owner = db.session.get(User, owner_id)
    # Provider users may name only people who see the engagement too (their colleagues,
    # the client side, its followers); anyone else answers like a user that does not
    # exist, so no names of other organisations' people come back.
    if owner is None or not (actor.is_client_side or can_see(owner, engagement)):
        errors["owner_id"] = ["No such user."]
    if errors:
        raise ValidationFailed("The artifact could not be added.", errors=errors)
    artifact = Artifact(
        engagement_id=engagement.id,
        kind=data["kind"],
        title=data["title"].strip(),
        url=data["url"].strip(),
        owner_id=owner_id,
        data={"added_by": actor.id, "description": data.get("description") or ""},
    )
    db.session.add(artifact)
    db.session.flush()
    audit.record(
        engagement, actor, "artifact_added", data={"artifact": artifact.id, "title": artifact.title}
    )
    checklists.sync_bound_items(engagement)
    commit_and_derive()
    return artifact


def remove_artifact(actor: User, artifact_id: int) -> None:
    """Delete a link; provider users only links they added themselves."""
    artifact = get_artifact(actor, artifact_id)
    engagement = db.session.get(Engagement, artifact.engagement_id)
    require(actor, Action.LOG_KNOWLEDGE, engagement)
    if not actor.is_client_side and (artifact.data or {}).get("added_by") != actor.id:
        raise Forbidden("You may remove only links you added.")
    audit.record(engagement, actor, "artifact_removed", data={"title": artifact.title})
    db.session.delete(artifact)
    checklists.sync_bound_items(engagement)
    commit_and_derive()


def _problems(data: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if data.get("kind") not in KINDS:
        errors["kind"] = [f"Choose one of {', '.join(KINDS)}."]
    if not (data.get("title") or "").strip():
        errors["title"] = ["Required."]
    url = (data.get("url") or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 1000:
        errors["url"] = ["An http(s) link of at most 1000 characters."]
    return errors
