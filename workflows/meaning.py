"""What a definition tells the application about its states and judgments.

The application never compares state names. Instead each state declares
- its `phase`: setup (scoping before work starts), period (a dated working
  period such as a trial or an extension), review (the period is being judged),
  wind_down (hand-over before closing), active (working without a dated
  period), paused (on hold) or final;
- for a period, which two engagement dates bound it (`period = ["trial_start",
  "trial_end"]`; default period_start and period_end);
- its `tone`, the colour family the pages draw it in.
A definition may also tune the health rules (`[health]`) and the readiness
weights (`[readiness]`). Everything is checked at load time like the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from .errors import InvalidExpression
from .expressions import parse_duration
from .problems import Problems
from .subject import DATE_KEYS

PHASES = ("setup", "period", "review", "wind_down", "active", "paused", "final")
TONES = ("slate", "blue", "violet", "amber", "teal", "green", "grey")
DEFAULT_TONE = {
    "setup": "slate",
    "period": "blue",
    "review": "amber",
    "wind_down": "teal",
    "active": "blue",
    "paused": "grey",
    "final": "grey",
}
DEFAULT_PERIOD = ("period_start", "period_end")
READINESS_PARTS = ("kt_checklist", "shadows", "drills", "adrs", "runbooks")
DEFAULT_WEIGHTS = MappingProxyType(
    {"kt_checklist": 30, "shadows": 30, "drills": 30, "adrs": 20, "runbooks": 20}
)


@dataclass(frozen=True)
class HealthRules:
    """The thresholds of the health rules (tracker/services/judgments/health.py applies them)."""

    overdue_red_after: timedelta = timedelta(days=14)
    stale_after: timedelta = timedelta(days=14)
    period_ending_within: timedelta = timedelta(days=7)
    checklist_red_after: timedelta = timedelta(days=14)
    # Evidence: a target still short this close to its due date; a metric with an open
    # target that has had no measurement for this long.
    target_warning_within: timedelta = timedelta(days=14)
    measurement_stale_after: timedelta = timedelta(days=14)
    # Handover (issue 30): a member whose end date is this long past with access still
    # open turns the engagement Amber.
    open_access_amber_after: timedelta = timedelta(days=0)
    # Drift (issue 31): approved change requests since the trial started that slipped the
    # schedule this much, or added this share of the monthly cost, turn it Amber.
    drift_slip_after: timedelta = timedelta(days=21)
    drift_cost_percent: float = 15.0


@dataclass(frozen=True)
class ReadinessRules:
    """How the readiness parts weigh, and which parts do not apply to this kind of engagement."""

    weights: Mapping[str, int] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    not_applicable: tuple[str, ...] = ()


_HEALTH_KEYS = {f for f in HealthRules.__dataclass_fields__}
_HEALTH_NUMBERS = {"drift_cost_percent"}  # plain numbers; every other key is a duration


def parse_state_meaning(table: Mapping, where: str, problems: Problems, *, initial: bool, final):
    """(phase, period dates, tone) of one [states.<name>] table, defaults filled in."""
    default = "final" if final else "setup" if initial else "active"
    phase = table.get("phase", default)
    if phase not in PHASES:
        problems.add(where, f"'phase' must be one of {', '.join(PHASES)}")
        phase = default
    elif final and phase != "final":
        problems.add(where, "a final state has phase 'final'")
    elif phase == "final" and not final:
        problems.add(where, "phase 'final' is only for final states (final = true)")
    period = _period(table, phase, where, problems)
    tone = table.get("tone", DEFAULT_TONE[phase])
    if tone not in TONES:
        problems.add(where, f"'tone' must be one of {', '.join(TONES)}")
        tone = DEFAULT_TONE[phase]
    return phase, period, tone


def _period(table: Mapping, phase: str, where: str, problems: Problems) -> tuple[str, str]:
    raw = table.get("period")
    if raw is None:
        return DEFAULT_PERIOD
    if phase != "period":
        problems.add(where, "'period' only applies to states with phase 'period'")
        return DEFAULT_PERIOD
    if not (isinstance(raw, list) and len(raw) == 2 and all(k in DATE_KEYS for k in raw)):
        problems.add(
            where, f"'period' must be two dates, start and end, from {', '.join(DATE_KEYS)}"
        )
        return DEFAULT_PERIOD
    return raw[0], raw[1]


def parse_health(raw: object, problems: Problems) -> HealthRules:
    """The [health] table: durations such as overdue_red_after = "14d"."""
    if raw is None:
        return HealthRules()
    if not isinstance(raw, dict):
        problems.add("health", "must be a table")
        return HealthRules()
    values = {}
    for key, text in raw.items():
        if key not in _HEALTH_KEYS:
            problems.add(
                "health", f"unknown key '{key}' (known: {', '.join(sorted(_HEALTH_KEYS))})"
            )
            continue
        if key in _HEALTH_NUMBERS:
            if isinstance(text, bool) or not isinstance(text, int | float) or text <= 0:
                problems.add(f"health.{key}", "must be a number above 0 (a percentage)")
            else:
                values[key] = float(text)
            continue
        try:
            values[key] = parse_duration(text)
        except InvalidExpression as exc:
            problems.add(f"health.{key}", str(exc))
    return HealthRules(**values)


def parse_readiness(raw: object, problems: Problems) -> ReadinessRules:
    """The [readiness] table: weights per part and the parts that do not apply."""
    if raw is None:
        return ReadinessRules()
    if not isinstance(raw, dict) or raw.keys() - {"weights", "not_applicable"}:
        problems.add("readiness", "must be a table with only 'weights' and 'not_applicable'")
        return ReadinessRules()
    weights = dict(DEFAULT_WEIGHTS)
    for key, value in (raw.get("weights") or {}).items():
        if key not in READINESS_PARTS:
            problems.add(
                "readiness.weights", f"unknown part '{key}' ({', '.join(READINESS_PARTS)})"
            )
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.add(f"readiness.weights.{key}", "must be a whole number, 0 or more")
        else:
            weights[key] = value
    skipped = raw.get("not_applicable", [])
    if not isinstance(skipped, list) or not all(p in READINESS_PARTS for p in skipped):
        problems.add(
            "readiness.not_applicable", f"must list parts from {', '.join(READINESS_PARTS)}"
        )
        skipped = []
    if not any(w for k, w in weights.items() if k not in skipped):
        problems.add("readiness", "at least one applicable part needs a weight above 0")
    return ReadinessRules(MappingProxyType(weights), tuple(skipped))
