"""One generated engagement as plain rows: dates, team, milestones, checklists, ADRs, audit.

Everything is drawn from the engagement's own random stream, so the same seed
and index always give the same rows; health is derived here with the same
function the app uses, from the same facts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal

from tracker.services.staffing.checklist_templates import TEMPLATES

STATES = ["discovery", "trial", "milestone_review", "extension", "knowledge_transfer", "closed"]
STATE_WEIGHTS = [15, 25, 10, 20, 10, 20]
STRUCTURES = {"single_specialist": 1, "pod_2": 2, "pod_4": 4, "fractional_lead": 1}
EXTERNAL_ROLES = [
    "ml_engineer",
    "llm_integration_specialist",
    "data_engineer",
    "mlops_engineer",
    "cv_engineer",
    "ai_product_manager",
]
AREAS = ["feature store", "training pipeline", "model serving", "evaluation", "ingestion jobs"]
AREAS += ["prompt pipeline", "vector index", "labelling tool", "monitoring", "deployment"]
TOPICS = ["Fraud scoring", "Demand forecasting", "Churn prediction", "Search ranking"]
TOPICS += ["Support assistant", "Document extraction", "Visual inspection", "Pricing model"]
TOPICS += ["Recommendations", "Anomaly detection", "Speech analytics", "Route optimisation"]
KINDS = ["pod", "uplift", "pilot", "refresh", "rebuild", "handover", "MVP", "platform"]
FIRST = ["Ada", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai"]
FIRST += ["Lena", "Mara", "Nina", "Omar", "Priya", "Quinn", "Rita", "Sam", "Tomas", "Uma"]
LAST = ["Adler", "Berg", "Costa", "Diaz", "Eriksen", "Fischer", "Gomes", "Haddad", "Ito"]
LAST += ["Jensen", "Kowalski", "Lee", "Mehta", "Novak", "Okafor", "Petrov", "Ruiz", "Sato"]
FILLER_AUDIT = ["milestone_update", "checklist_completed", "updated", "milestone_edited"]
FILLER_AUDIT += ["team_member_updated", "adr_created", "checklist_updated"]


@dataclass
class People:
    """The generated users of one seed, as (id, name) pairs by role."""

    providers: list[int]
    provider_users: dict[int, list[tuple[int, str]]]
    managers: list[tuple[int, str]]
    internals: list[tuple[int, str]]


@dataclass
class Plan:
    """One engagement's rows before insertion (children get ids after their parents)."""

    row: dict
    members: list[dict] = field(default_factory=list)
    milestones: list[tuple[dict, list[dict]]] = field(default_factory=list)
    checklist: list[dict] = field(default_factory=list)
    adrs: list[dict] = field(default_factory=list)
    shadows: list[tuple[int, dict, list[dict]]] = field(default_factory=list)
    followers: list[int] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)


def _periods(rng: random.Random, state: str, today: date) -> list[tuple[date, date]]:
    """Trial then extension periods (start, end), placed so the state fits today."""
    if state == "discovery" or (state == "closed" and rng.random() < 0.15):
        return []
    count = {"trial": 1, "extension": rng.randint(2, 3)}.get(state, rng.randint(1, 3))
    lengths = [90] + [rng.choice([90, 180, 270]) for _ in range(count - 1)]
    if state in ("trial", "extension"):
        end = today + timedelta(days=lengths[-1] - rng.randint(1, lengths[-1] + 4))
    else:
        gap = {"milestone_review": (0, 14), "knowledge_transfer": (15, 60)}.get(state, (60, 400))
        end = today - timedelta(days=rng.randint(*gap))
    periods = []
    for length in reversed(lengths):
        periods.insert(0, (end - timedelta(days=length), end))
        end -= timedelta(days=length)
    return periods


def build_plan(i: int, seed: int, people: People, definition, today: date) -> Plan:
    rng = random.Random(f"engagement-{seed}-{i}")
    state = rng.choices(STATES, STATE_WEIGHTS)[0]
    structure = rng.choice(list(STRUCTURES))
    provider_id = rng.choice(people.providers)
    owner = rng.choice(people.managers)
    periods = _periods(rng, state, today)
    start = periods[0][0] if periods else today - timedelta(days=rng.randint(3, 40))
    discovery_start = start - timedelta(days=rng.randint(14, 35)) if periods else start
    plan = Plan(row=_engagement_row(rng, i, state, structure, provider_id, owner, definition))
    plan.row.update(_date_fields(rng, state, periods, discovery_start, today))
    plan.row["technical_contact_id"] = rng.choice(people.internals)[0]
    plan.followers = sorted({rng.choice(people.internals)[0] for _ in range(rng.randint(1, 3))})
    authors = people.provider_users[provider_id]
    _add_team(plan, rng, structure, people, periods)
    _add_milestones(plan, rng, state, periods, authors, today)
    _add_checklist(plan, rng, state, discovery_start, owner[0], today)
    _add_adrs(plan, rng, state, periods, authors)
    _add_audit(plan, rng, state, periods, discovery_start, (owner, authors), today)
    return plan


def _engagement_row(rng, i, state, structure, provider_id, owner, definition) -> dict:
    title = f"{rng.choice(TOPICS)} {rng.choice(KINDS)} #{i + 1}"
    return {
        "title": title,
        "provider_id": provider_id,
        "structure": structure,
        "owner_id": owner[0],
        "problem_statement": f"{title}: cut manual work and lift the key metric.",
        "success_criteria": "Offline metric beats the baseline by 10%; shipped behind a flag.",
        "monthly_cost": Decimal(rng.randrange(12000, 60000, 500)),
        "state": state,
        "workflow_name": definition.name,
        "workflow_version": definition.version,
        "workflow_hash": definition.content_hash,
    }


def _date_fields(rng, state, periods, discovery_start, today) -> dict:
    fields = {"discovery_start": discovery_start, "current_period": max(0, len(periods) - 1)}
    if periods:
        fields.update(trial_start=periods[0][0], trial_end=periods[0][1])
        fields.update(period_start=periods[-1][0], period_end=periods[-1][1])
    if state == "closed":
        ended = periods[-1][1] if periods else discovery_start + timedelta(days=20)
        fields["closed_at"] = datetime.combine(min(ended, today), clock(12), UTC)
        fields["outcome"] = rng.choice(["completed", "terminated"]) if periods else "cancelled"
    if len(periods) > 1 or state in ("knowledge_transfer", "closed"):
        fields["review_summary"] = "Milestones judged one by one; see the audit trail."
    return fields


def _add_team(plan: Plan, rng, structure: str, people: People, periods) -> None:
    start = periods[0][0] if periods else None
    role_pool = ["fractional_ml_lead"] if structure == "fractional_lead" else EXTERNAL_ROLES
    for _ in range(STRUCTURES[structure]):
        plan.members.append(
            {
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "role": rng.choice(role_pool),
                "is_external": True,
                "allocation": rng.choice([50, 80, 100, 100]),
                "areas": rng.sample(AREAS, 2),
                "start_date": start,
            }
        )
    internal = rng.choice(people.internals)
    plan.members.append(
        {
            "user_id": internal[0],
            "name": internal[1],
            "role": "internal_engineer",
            "is_external": False,
            "allocation": 50,
            "areas": [],
            "start_date": start,
        }
    )


def _milestone_status(rng, due: date, today: date, is_past_period: bool) -> str:
    if is_past_period:
        return "met" if rng.random() < 0.9 else "missed"
    if due < today:
        return rng.choices(["met", "missed", "at_risk", "blocked"], [70, 10, 12, 8])[0]
    return rng.choices(["planned", "on_track", "at_risk", "blocked"], [40, 45, 10, 5])[0]


def _add_milestones(plan: Plan, rng, state, periods, authors, today: date) -> None:
    if not periods:
        for k in (30, 60):
            due = today + timedelta(days=k + rng.randint(5, 30))
            plan.milestones.append((_milestone_row(0, f"Day-{k} milestone", due, "planned"), []))
        return
    running = state in ("trial", "extension", "milestone_review")
    for period, (start, end) in enumerate(periods):
        past = period < len(periods) - 1 or not running
        days = (end - start).days
        extra = sorted(rng.sample(range(10, days), rng.randint(1, 3)))
        titled = [(days * k // 3, f"Day-{days * k // 3} milestone") for k in (1, 2, 3)]
        titled += [(offset, f"Checkpoint {n}") for n, offset in enumerate(extra, 1)]
        # Inserted in due order, as a manager would add them (and as the index reads them).
        for offset, title in sorted(titled):
            due = start + timedelta(days=offset)
            status = _milestone_status(rng, due, today, past)
            row = _milestone_row(period, title, due, status)
            updates = (
                _updates(rng, row, start, min(due, today), authors) if status != "planned" else []
            )
            plan.milestones.append((row, updates))


def _milestone_row(period: int, title: str, due: date, status: str) -> dict:
    return {
        "period": period,
        "title": title,
        "due_date": due,
        "status": status,
        "success_criteria": "Agreed metric improves offline; demo to stakeholders.",
        "last_update_at": None,
    }


def _updates(rng, row: dict, start: date, until: date, authors) -> list[dict]:
    span = max(1, (until - start).days)
    days = sorted(rng.sample(range(span), min(span, rng.randint(1, 2))))
    updates, previous = [], "planned"
    for k, day in enumerate(days):
        status = row["status"] if k == len(days) - 1 else "on_track"
        author = rng.choice(authors)
        at = datetime.combine(start + timedelta(days=day), clock(10 + k), UTC)
        updates.append(
            {
                "author_id": author[0],
                "from_status": previous,
                "status": status,
                "note": "Weekly status: evaluation numbers attached.",
                "evidence": ["https://wiki.example.com/ml/eval-report"],
                "created_at": at,
            }
        )
        previous = status
    row["last_update_at"] = updates[-1]["created_at"]
    return updates


def _add_checklist(plan: Plan, rng, state, discovery_start, owner_id, today) -> None:
    done_at = datetime.combine(discovery_start + timedelta(days=10), clock(15), UTC)
    for kind, items in TEMPLATES.items():
        for position, (key, title) in enumerate(items):
            if kind == "knowledge_transfer":
                chance = {"knowledge_transfer": 0.5, "closed": 1.0}.get(state, 0.0)
            else:
                chance = 0.5 if state == "discovery" else 1.0
            done = rng.random() < chance
            due = discovery_start + timedelta(days=14 + position)
            plan.checklist.append(
                {
                    "kind": str(kind),
                    "key": key,
                    "title": title,
                    "owner_id": owner_id,
                    "due_date": due if kind != "knowledge_transfer" else None,
                    "status": "done" if done else "open",
                    "completed_by_id": owner_id if done else None,
                    "completed_at": min(done_at, _at(today)) if done else None,
                    "position": position,
                }
            )


def _at(day: date) -> datetime:
    return datetime.combine(day, clock(9), UTC)


def _add_adrs(plan: Plan, rng, state, periods, authors) -> None:
    if not periods:
        return
    for number in range(1, rng.randint(1, 4) + 1):
        status = "proposed" if state != "closed" and rng.random() < 0.25 else "accepted"
        title = f"Use {rng.choice(AREAS)} for {rng.choice(TOPICS).lower()}"
        plan.adrs.append(
            {
                "number": number,
                "title": title,
                "status": status,
                "decided_on": periods[0][0] + timedelta(days=7 * number),
                "deciders": rng.choice(authors)[1],
                "context": "We need a decision the internal team can own after the engagement.",
                "decision": f"We will {title.lower()}.",
                "consequences": "One more system to run; documented in the runbook.",
                "author_id": rng.choice(authors)[0],
            }
        )
    if state in ("extension", "knowledge_transfer", "closed"):
        _add_shadows(plan, rng, state, periods)


def _add_shadows(plan: Plan, rng, state, periods) -> None:
    internal = plan.members[-1]["user_id"]
    start = periods[-1][0]
    signed = state == "closed" or (state == "knowledge_transfer" and rng.random() < 0.5)
    for index, member in enumerate(plan.members[:-1]):
        sessions = [
            {
                "held_on": start + timedelta(days=7 * (k + 1)),
                "duration_minutes": rng.choice([45, 60, 90]),
                "topic": f"Walkthrough: {area}",
            }
            for k, area in enumerate(member["areas"] * rng.randint(1, 2))
        ]
        row = {
            "shadow_id": internal,
            "areas": member["areas"],
            "start_date": start,
            "confidence": rng.randint(2, 5),
            "signed_off_by_id": plan.row["owner_id"] if signed else None,
            "signed_off_at": _at(periods[-1][1]) if signed else None,
        }
        plan.shadows.append((index, row, sessions))


def _add_audit(plan: Plan, rng, state, periods, discovery_start, actors, today) -> None:
    """~100 events: created, every transition on the path, and day-to-day edits."""
    (owner_id, owner_name), authors = actors
    end = _at(today) if state != "closed" else plan.row["closed_at"]
    begin = _at(discovery_start)
    events, previous = [(begin, "created", None, "discovery")], "discovery"
    for to, at in _transitions(state, periods, end):
        events.append((min(at, end), "transition", previous, to))
        previous = to
    span = max(60, int((end - begin).total_seconds()))
    for _ in range(rng.randint(80, 110)):
        events.append((begin + timedelta(seconds=rng.randrange(span)), rng.choice(FILLER_AUDIT)))
    events.sort(key=lambda e: e[0])
    for at, kind, *states in events:
        actor = (owner_id, owner_name) if kind != "milestone_update" else rng.choice(authors)
        plan.audit.append(_audit_row(plan, actor, kind, *(states or (None, None)), at))


def _transitions(state: str, periods, end: datetime) -> list[tuple[str, datetime]]:
    """The lifecycle path that led to this state, with when each step happened."""
    path = []
    for k, (start, stop) in enumerate(periods):
        path += [("trial" if k == 0 else "extension", _at(start)), ("milestone_review", _at(stop))]
    if state in ("trial", "extension"):
        path.pop()  # the last period is still running
    if periods and state in ("knowledge_transfer", "closed"):
        path.append(("knowledge_transfer", _at(periods[-1][1] + timedelta(days=7))))
    if state == "closed":
        path.append(("closed", end))
    return path


def _audit_row(plan: Plan, actor, kind, frm, to, at) -> dict:
    return {
        "actor_id": actor[0],
        "actor_label": actor[1],
        "kind": kind,
        "event": _EVENTS.get(to) if kind == "transition" else None,
        "from_state": frm,
        "to_state": to if kind in ("transition", "created") else None,
        "data": {},
        "workflow_version": plan.row["workflow_version"],
        "created_at": at,
    }


_EVENTS = {
    "trial": "start_trial",
    "milestone_review": "begin_review",
    "extension": "extend",
    "knowledge_transfer": "begin_knowledge_transfer",
    "closed": "close",
}
