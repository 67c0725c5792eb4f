"""What the engagement page shows of the handover: the access register per member and the Exit.

The Exit summary is shown while the engagement's state has the `wind_down` phase (the
definition says which state that is; no state is named here). Its open items are the
unmet requirements of the same guard functions the default close gate runs, over the
same facts, each with who owns putting it right.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from tracker.auth.permissions import Action, can
from tracker.models import AccessEntry, Engagement, ExitConfirmation, Role, User
from tracker.services.handover import access, exits
from tracker.services.workflow import lifecycle
from tracker.services.workflow.subjects import build_subject
from workflows import Subject
from workflows.handover import access_revoked_verified, areas_drilled, exit_confirmed

EXIT_PHASE = "wind_down"


@dataclass(frozen=True)
class OpenItem:
    """One thing still open at the exit, in words, with who owns it."""

    code: str
    message: str
    owner: str
    anchor: str = ""


@dataclass
class HandoverView:
    """The access register by member, the exit confirmations and what is still open."""

    engagement: Engagement
    access_by_member: dict[int, list[AccessEntry]] = field(default_factory=dict)
    exit: ExitConfirmation | None = None
    show_exit: bool = False
    open_items: list[OpenItem] = field(default_factory=list)
    can_add_access: bool = False
    can_revoke: bool = False
    can_confirm_exit: bool = False


def handover_view(
    actor: User,
    engagement: Engagement,
    today: date,
    *,
    loaded: tuple[list[AccessEntry], ExitConfirmation | None, Subject] | None = None,
) -> HandoverView:
    """The handover sections of one engagement page (the actor already sees the engagement).

    `loaded`: every access entry, the exit row and the Subject, as the engagement page's
    read model already holds them (the same rows the exit's open items are judged on);
    without it they are read here."""
    if loaded is None:
        entries = access.list_for_engagement(actor, engagement.id)
        exit_row, subject = exits.get_exit(actor, engagement.id), None
    else:
        every, found, subject = loaded
        entries = access.visible_entries(actor, every)
        exit_row = found or exits.empty_exit(engagement.id)
    by_member: dict[int, list[AccessEntry]] = defaultdict(list)
    for entry in entries:
        by_member[entry.member_id].append(entry)
    client = actor.role != Role.PROVIDER and can(actor, Action.EDIT, engagement)
    view = HandoverView(
        engagement=engagement,
        access_by_member=dict(by_member),
        exit=exit_row,
        show_exit=lifecycle.state_of(engagement).phase == EXIT_PHASE,
        can_add_access=client and not engagement.is_closed,
        can_revoke=client and not engagement.is_closed,
        can_confirm_exit=client and not engagement.is_closed,
    )
    if view.show_exit:
        view.open_items = open_items(engagement, today, subject)
    return view


def open_items(
    engagement: Engagement, today: date, subject: Subject | None = None
) -> list[OpenItem]:
    """What stands between this engagement and a proven exit, each with its owner."""
    subject = subject or build_subject(engagement, today)
    owner = engagement.owner.name
    shadows_by_area = {
        (s.member_id, area): s.shadow_name for s in subject.shadows for area in s.areas
    }
    items = [
        OpenItem(
            u.code,
            u.message,
            shadows_by_area.get((u.ref["id"], u.ref["area"]), "nobody: assign a shadow"),
            "shadows",
        )
        for u in areas_drilled(subject, {})
    ]
    items += [
        OpenItem(u.code, u.message, owner, f"access-{u.ref['id']}")
        for u in access_revoked_verified(subject, {})
    ]
    items += [OpenItem(u.code, u.message, owner, "exit") for u in exit_confirmed(subject, {})]
    return items
