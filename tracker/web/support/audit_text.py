"""The audit trail in words: one sentence per entry naming its object and the change.

`audit_sentence` is the only place an entry becomes text for people (the engagement
page's trail); each kind the services record has its phrase in SENTENCES, and a test
keeps that table in step with the kinds the code writes. The actor is shown beside
the sentence, so the sentence starts with the verb: "Completed 'Data access ready'".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime

from markupsafe import Markup, escape

from tracker.models import label
from tracker.services.workflow.lifecycle import label_of_state

QUOTE_MAX = 80
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def audit_sentence(entry, engagement, hidden_fields: Iterable[str] = ()) -> str:
    """What the entry records, as one sentence (plain text; the template escapes it)."""
    data = entry.data or {}
    phrase = SENTENCES.get(entry.kind)
    if phrase is None:  # a kind written before this table knew it: still readable
        return label(entry.kind)
    return phrase(entry, data, engagement, tuple(hidden_fields))


def audit_items_html(entries, engagement, hidden_fields: Iterable[str], when) -> Markup:
    """The engagement page's trail: one `<li>` per entry (its instant by `when`, the actor,
    the sentence and the reason given), built here in one pass rather than per entry in the
    template, where the filters, calls and escapes were a seventh of the page's work (ADR
    0258). Every text is escaped."""
    hidden = tuple(hidden_fields)
    items = []
    for entry in entries:
        reason = entry.reason
        said = f'<div class="small">“{escape(reason)}”</div>' if reason else ""
        items.append(
            f'\n    <li class="audit-{escape(entry.kind)}"><span class="muted small">'
            f"{escape(when(entry.created_at))}</span><div><strong>{escape(entry.actor_label)}"
            f'</strong> <span data-testid="audit-sentence">'
            f"{escape(audit_sentence(entry, engagement, hidden))}</span>{said}</div></li>"
        )
    return Markup("".join(items))


def _q(text) -> str:
    """A title or value in quotes, long text cut short."""
    text = str(text if text is not None else "")
    if len(text) > QUOTE_MAX:
        text = text[: QUOTE_MAX - 1].rstrip() + "…"
    return f"'{text}'"


def _day(value) -> str:
    """'5 Jan 2027' from a date, a datetime or their ISO text (an override's `until` is an
    instant: its day is the one it falls on)."""
    if not value:
        return "none"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    day = value.date() if isinstance(value, datetime) else value
    return f"{day.day} {day:%b %Y}"


def _dates(old, new) -> str:
    """'22 Dec → 5 Jan': the year only when the two differ or one is missing."""
    if old and new:
        a = date.fromisoformat(old) if isinstance(old, str) else old
        b = date.fromisoformat(new) if isinstance(new, str) else new
        if a.year == b.year:
            return f"{a.day} {a:%b} → {b.day} {b:%b}"
    return f"{_day(old)} → {_day(new)}"


def _is_day(value) -> bool:
    """A date as the trail stores it (ISO text), or no date at all."""
    return value in (None, "") or isinstance(value, date) or bool(_ISO_DAY.fullmatch(str(value)))


def _value(field: str, value) -> str:
    if value in (None, ""):
        return "none"
    if field.endswith("_date") or field in ("due_date", "until"):
        return _day(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return _q(value) if isinstance(value, str) else str(value)


def _change(field: str, old, new, title: str | None, names: dict | None = None) -> str:
    """One changed field of a titled object (or of the engagement when title is None)."""
    of = f" of {_q(title)}" if title is not None else ""
    if field in ("title", "name"):
        return f"Renamed {_q(old)} to {_q(new)}"
    if names and field in names:  # an id whose names the service kept (an owner)
        old, new = names[field]
        return f"{label(field.removesuffix('_id'))}{of} {old or 'none'} → {new or 'none'}"
    if field.endswith("_id"):
        return f"Changed the {label(field.removesuffix('_id')).lower()}{of}"
    if _is_day(old) and _is_day(new):
        return f"{label(field)}{of} {_dates(old, new)}"
    if field in ("note", "success_criteria", "description") and new:
        return f"{label(field)}{of} set to {_q(new)}"
    return f"{label(field)}{of} {_value(field, old)} → {_value(field, new)}"


def _changes(data: dict, title: str | None, hidden: tuple = (), names: dict | None = None):
    changed = {k: v for k, v in (data.get("changed") or {}).items() if k not in hidden}
    parts = [_change(f, old, new, title, names) for f, (old, new) in changed.items()]
    if not parts:
        return f"Edited {_q(title)}" if title is not None else "Edited the engagement"
    # after a rename the later parts name the object by its new title
    return "; ".join(p if i == 0 else p[0].lower() + p[1:] for i, p in enumerate(parts))


def _transition(entry, data, engagement, hidden) -> str:
    sentence = (
        f"Moved it from {label_of_state(engagement, entry.from_state)} "
        f"to {label_of_state(engagement, entry.to_state)}"
    )
    if entry.event:
        sentence += f" ({label(entry.event).lower()})"
    hold = data.get("hold")
    if hold:
        days = hold.get("held_days", 0)
        sentence += f" after {days} day{'s' if days != 1 else ''} on hold"
        if hold.get("shifted"):
            sentence += f"; {len(hold.get('shifts') or [])} date(s) moved by {days} days"
    if data.get("overridden"):
        sentence += f", overriding {len(data['overridden'])} unmet requirement(s)"
    return sentence


def _migration(entry, data, engagement, hidden) -> str:
    sentence = (
        f"Migrated the workflow from v{data.get('from_version')} to v{data.get('to_version')}"
    )
    if entry.from_state != entry.to_state:
        sentence += (
            f"; state {label_of_state(engagement, entry.from_state)} → "
            f"{label_of_state(engagement, entry.to_state)}"
        )
    return sentence


def _health_override(entry, data, engagement, hidden) -> str:
    if not data.get("health"):
        return "Removed the health override"
    return f"Set health to {data['health']} until {_day(data.get('until'))}"


def _milestone_update(entry, data, engagement, hidden) -> str:
    title = _q(data.get("title"))
    to = label(data.get("to") or "").lower()
    if data.get("from") and data.get("from") != data.get("to"):
        return f"Set {title} from {label(data['from']).lower()} to {to}"
    return f"Set {title} to {to}"


def _verdict(entry, data, engagement, hidden) -> str:
    return f"Gave the verdict {label(data.get('to') or '').lower()} on {_q(data.get('title'))}"


def _checklist_completed(entry, data, engagement, hidden) -> str:
    title = _q(data.get("title"))
    if data.get("status") == "not_applicable":
        return f"Marked {title} not applicable"
    if data.get("from_data"):
        return f"Completed {title} from the data ({label(data.get('fact') or '').lower()})"
    return f"Completed {title}"


def _checklist_reopened(entry, data, engagement, hidden) -> str:
    suffix = " (its fact no longer holds)" if data.get("from_data") else ""
    return f"Reopened {_q(data.get('title'))}{suffix}"


def _checklist_moved(entry, data, engagement, hidden) -> str:
    old, new = (data.get("position") or [None, None])[:2]
    return f"Moved {_q(data.get('title'))} {data.get('direction', '')} (place {old} → {new})"


def _checklist_updated(entry, data, engagement, hidden) -> str:
    names = {"owner_id": data["owner"]} if data.get("owner") else None
    return _changes(data, data.get("title"), hidden, names)


def _member_updated(entry, data, engagement, hidden) -> str:
    who = _q(data.get("name")) if data.get("name") else "a team member"
    fields = ", ".join(label(f).lower() for f in data.get("fields") or [])
    return f"Changed the {fields} of {who}" if fields else f"Edited {who}"


def _shadow_assigned(entry, data, engagement, hidden) -> str:
    who, of = data.get("who"), data.get("of")
    areas = ", ".join(data.get("areas") or [])
    sentence = f"Assigned {who} to shadow {of}" if who and of else "Assigned a shadow"
    return sentence + (f" on {areas}" if areas else "")


def _adr(verb: str) -> Callable:
    return lambda entry, data, engagement, hidden: f"{verb} ADR {data.get('adr')}"


def _titled(verb: str, key: str = "title") -> Callable:
    """'Added the milestone 'Day-90 review'' (or without the title when none was kept)."""

    def phrase(entry, data, engagement, hidden) -> str:
        title = data.get(key)
        return f"{verb} {_q(title)}" if title else verb

    return phrase


def _who(data) -> str:
    return data.get("email") or data.get("name") or "a user"


def _browser(data) -> str:
    known = data.get("browser") == "known"
    where = "a browser that signed in before" if known else "an unknown browser"
    return f"{where}, {data['address']}" if data.get("address") else where


LINKS = {"invite": "an invitation link", "reset": "a password reset link"}


def _link_sent(entry, data, engagement, hidden) -> str:
    link = LINKS.get(data.get("purpose"), "a set-password link")
    return f"Sent {link} to {_who(data)}"


def _link_used(entry, data, engagement, hidden) -> str:
    link = LINKS.get(data.get("purpose"), "a set-password link")
    return f"Set the password of {_who(data)} through {link}"


def _target_set(entry, data, engagement, hidden) -> str:
    """'Set the target for 'p95 latency' on 'Day-30' to 2200 (was 2400)'."""
    was = f" (was {data['from']:g})" if data.get("from") is not None else ""
    return (
        f"Set the target for {_q(data.get('name'))} on {_q(data.get('title'))} "
        f"to {data.get('to', 0):g}{was}"
    )


def _change_request(verb: str) -> Callable:
    """'Approved change request #4: Milestone 'Day-30' due_date, Mara Quint allocation'."""

    def sentence(entry, data, engagement, hidden) -> str:
        number = f"change request #{data.get('change_request_id')}"
        changes = data.get("changes") or []
        what = ", ".join(
            f"{c.get('subject')} {str(c.get('field')).replace('_', ' ')}" for c in changes
        )
        return f"{verb} {number}" + (f": {what}" if what else "")

    return sentence


SENTENCES: dict[str, Callable] = {
    "created": lambda e, d, eng, h: f"Created it in {label_of_state(eng, e.to_state)}",
    "updated": lambda e, d, eng, h: _changes(d, None, h),
    "cost_updated": lambda e, d, eng, h: _changes(d, None, h),
    "change_request_proposed": _change_request("Raised"),
    "change_request_approved": _change_request("Approved and applied"),
    "change_request_approved_cost": _change_request("Approved and applied"),
    "change_request_rejected": _change_request("Rejected"),
    "change_request_withdrawn": _change_request("Withdrew"),
    "transition": _transition,
    "migration": _migration,
    "health_override": _health_override,
    "milestone_added": _titled("Added the milestone"),
    "milestone_edited": lambda e, d, eng, h: _changes(d, d.get("title"), h),
    "milestone_removed": _titled("Removed the milestone"),
    "milestone_update": _milestone_update,
    "milestone_verdict": _verdict,
    "metric_added": _titled("Defined the success metric", "name"),
    "metric_edited": lambda e, d, eng, h: _changes(d, d.get("title"), h),
    "metric_removed": _titled("Removed the success metric", "name"),
    "target_set": _target_set,
    "target_removed": lambda e, d, eng, h: (
        f"Removed the target for {_q(d.get('name'))} from {_q(d.get('title'))}"
    ),
    "ingest_token_created": _titled("Created the ingest token", "name"),
    "ingest_token_revoked": _titled("Revoked the ingest token", "name"),
    "checklist_added": _titled("Added the checklist item"),
    "checklist_updated": _checklist_updated,
    "checklist_completed": _checklist_completed,
    "checklist_reopened": _checklist_reopened,
    "checklist_removed": _titled("Removed the checklist item"),
    "checklist_moved": _checklist_moved,
    "hiring_evaluation_opened": lambda e, d, eng, h: (
        f"Opened {_q(d.get('title'))} after {d.get('months')} months on the engagement"
    ),
    "team_member_added": lambda e, d, eng, h: f"Added {_q(d.get('name'))} to the team",
    "team_member_updated": _member_updated,
    "team_member_removed": lambda e, d, eng, h: f"Removed {_q(d.get('name'))} from the team",
    "shadow_assigned": _shadow_assigned,
    "shadow_updated": lambda e, d, eng, h: f"Edited shadow assignment {d.get('shadow')}",
    "shadow_session": lambda e, d, eng, h: (
        f"Logged a shadow session of assignment {d.get('shadow')}"
    ),
    "shadow_confidence": lambda e, d, eng, h: f"Set shadow confidence to {d.get('confidence')}",
    "shadow_signed_off": lambda e, d, eng, h: f"Signed off shadow assignment {d.get('shadow')}",
    "drill_recorded": lambda e, d, eng, h: (
        f"Recorded a {d.get('outcome')} drill of {_q(d.get('area'))}: {_q(d.get('task'))}"
    ),
    "drill_commented": lambda e, d, eng, h: f"Commented on the drill {_q(d.get('task'))}",
    "access_added": lambda e, d, eng, h: (
        f"Listed {_q(d.get('system'))} in the access register of {_q(d.get('member'))}"
    ),
    "access_revoked": lambda e, d, eng, h: (
        f"Revoked the access of {_q(d.get('member'))} to {_q(d.get('system'))}"
    ),
    "access_verified": lambda e, d, eng, h: (
        f"Verified that {_q(d.get('member'))} can no longer reach {_q(d.get('system'))}"
    ),
    "exit_updated": lambda e, d, eng, h: (
        f"Changed the exit confirmations ({', '.join(d.get('changed') or [])})"
    ),
    "artifact_added": _titled("Added the artifact"),
    "artifact_removed": _titled("Removed the artifact"),
    "adr_created": _adr("Wrote"),
    "adr_accepted": _adr("Accepted"),
    "adr_rejected": _adr("Rejected"),
    "adr_deprecated": _adr("Deprecated"),
    "adrs_imported": lambda e, d, eng, h: f"Imported {d.get('count', 0)} ADR(s)",
    "user_created": lambda e, d, eng, h: f"Created the account of {_who(d)} ({d.get('role')})",
    "user_invited": lambda e, d, eng, h: f"Invited {_who(d)} as {d.get('role')}",
    "user_updated": lambda e, d, eng, h: _changes(d, _who(d), h),
    "user_deactivated": lambda e, d, eng, h: f"Deactivated {_who(d)}",
    "user_reactivated": lambda e, d, eng, h: f"Reactivated {_who(d)}",
    "password_link_sent": _link_sent,
    "password_set_by_link": _link_used,
    "provider_created": _titled("Created the provider organisation", "name"),
    "provider_updated": lambda e, d, eng, h: _changes(d, d.get("name"), h),
    "provider_deactivated": _titled("Deactivated the provider organisation", "name"),
    "provider_reactivated": _titled("Reactivated the provider organisation", "name"),
    "sign_in_throttled": lambda e, d, eng, h: (
        f"Sign-ins slowed after {d.get('failures', 0)} failed attempts"
    ),
    "sso_signed_in": lambda e, d, eng, h: (
        f"Signed in through single sign-on as {d.get('email') or d.get('subject')}"
    ),
    "sso_linked": lambda e, d, eng, h: (
        f"Linked {_who(d)} to the identity {d.get('subject')} at {d.get('issuer')}"
    ),
    "sso_unlinked": lambda e, d, eng, h: (
        f"Unlinked {_who(d)} from the identity {d.get('subject')} at {d.get('issuer')}"
    ),
    "sso_refused": lambda e, d, eng, h: (
        f"Refused a single sign-on of {d.get('email') or d.get('subject') or 'someone'}"
        f" ({label(e.reason or 'refused')})"
    ),
    "signed_in": lambda e, d, eng, h: f"Signed in ({_browser(d)})",
    "sign_in_failed": lambda e, d, eng, h: f"Failed sign-in as {_who(d)} ({_browser(d)})",
    "token_created": lambda e, d, eng, h: f"Created the API token {_q(d.get('name'))}",
    "token_revoked": lambda e, d, eng, h: f"Revoked the API token {_q(d.get('name'))}",
    "role_changed": lambda e, d, eng, h: (
        f"Changed the role of {_who(d)} from {d.get('from')} to {d.get('to')}"
    ),
}
