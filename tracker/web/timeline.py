"""A server-rendered SVG timeline: the setup span and each dated period, with milestones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from markupsafe import Markup

from tracker.models import Engagement, Milestone, label
from tracker.services import lifecycle

WIDTH, LEFT, RIGHT = 960, 24, 64
BAR_Y, BAR_H = 34, 22
STATUS_COLOURS = {
    "planned": "#94a3b8",
    "on_track": "#1f8a4c",
    "at_risk": "#b7791f",
    "blocked": "#c53030",
    "met": "#166534",
    "missed": "#7f1d1d",
}
# Fills for a state's tone (workflows/meaning.py TONES), lighter than the badges.
TONE_FILLS = {
    "slate": "#e2e8f0",
    "blue": "#c7d7f7",
    "violet": "#ddd0f5",
    "amber": "#fde7c2",
    "teal": "#c9ece7",
    "green": "#cdebd7",
    "grey": "#e5e7eb",
}


@dataclass(frozen=True)
class Span:
    """A dated stretch of the lifecycle, drawn as a bar: which state, its label and tone."""

    state: str
    label: str
    tone: str
    start: date
    end: date


def _spans(engagement: Engagement) -> list[Span]:
    """The setup span and every dated period the engagement's dates record."""
    definition = lifecycle.definition_of(engagement)
    if definition is None:
        return []
    states = list(definition.states.values())
    periods = [s for s in states if s.is_period]
    first = next((s for s in periods if s.period[0] == "trial_start"), None)
    later = [s for s in periods if s is not first]
    spans = []
    trial_start, trial_end = engagement.trial_start, engagement.trial_end
    if first and trial_start and trial_end:
        spans.append(Span(first.name, first.label, first.tone, trial_start, trial_end))
    has_later = engagement.current_period >= 1 and engagement.period_start and later
    if has_later and engagement.period_end:
        current = lifecycle.state_of(engagement)
        state = current if current in later else later[-1]
        spans.append(
            Span(
                state.name, state.label, state.tone, engagement.period_start, engagement.period_end
            )
        )
    if engagement.discovery_start:
        setup = definition.states[definition.initial_state]
        end = spans[0].start if spans else engagement.discovery_start + timedelta(days=28)
        spans.insert(0, Span(setup.name, setup.label, setup.tone, engagement.discovery_start, end))
    return spans


class _Scale:
    """Maps dates to x coordinates across the drawing."""

    def __init__(self, first: date, last: date):
        self.first = first
        self.days = max(1, (last - first).days)

    def x(self, day: date) -> float:
        return round(LEFT + (day - self.first).days / self.days * (WIDTH - LEFT - RIGHT), 1)


def timeline_svg(engagement: Engagement, milestones: list[Milestone], today: date) -> Markup:
    """The SVG markup (safe: every text is escaped here)."""
    spans = _spans(engagement)
    days = [d for span in spans for d in (span.start, span.end)]
    days += [m.due_date for m in milestones] + [today]
    scale = _Scale(min(days) - timedelta(days=3), max(days) + timedelta(days=3))
    parts = [_span_svg(span, scale) for span in spans]
    parts += [_milestone_svg(m, scale) for m in milestones]
    parts.append(_today_svg(today, scale))
    title = f"Timeline of {escape(engagement.title)}"
    return Markup(
        f'<svg class="timeline" viewBox="0 0 {WIDTH} 110" role="img" '
        f'aria-label="{title}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, DejaVu Sans, sans-serif" font-size="12">'
        f"<title>{title}</title>{''.join(parts)}</svg>"
    )


def _span_svg(span: Span, scale: _Scale) -> str:
    x1, x2 = scale.x(span.start), scale.x(span.end)
    name = escape(span.label)
    text = f"{span.label} · {span.start:%-d %b} – {span.end:%-d %b %Y}"
    return (
        f'<g class="span span-{escape(span.state)}"><title>{escape(text)}</title>'
        f'<rect x="{x1}" y="{BAR_Y}" width="{max(2, x2 - x1)}" height="{BAR_H}" rx="4" '
        f'fill="{TONE_FILLS.get(span.tone, TONE_FILLS["grey"])}" stroke="#94a3b8"/>'
        f'<text x="{x1 + 6}" y="{BAR_Y + 15}" fill="#1d2330">{name}</text>'
        f'<text x="{x1}" y="{BAR_Y + BAR_H + 16}" fill="#5b6474" font-size="11">'
        f"{span.start:%-d %b}</text></g>"
    )


def _milestone_svg(milestone: Milestone, scale: _Scale) -> str:
    x, y = scale.x(milestone.due_date), BAR_Y + BAR_H / 2
    colour = STATUS_COLOURS.get(milestone.status, "#94a3b8")
    text = f"{milestone.title} · due {milestone.due_date:%-d %b %Y} · {label(milestone.status)}"
    points = f"{x},{y - 9} {x + 8},{y} {x},{y + 9} {x - 8},{y}"
    return (
        f'<a href="#milestone-{milestone.id}"><g class="milestone status-{milestone.status}">'
        f"<title>{escape(text)}</title>"
        f'<polygon points="{points}" fill="{colour}" stroke="#fff" stroke-width="1.5"/>'
        f'<text x="{x}" y="{BAR_Y - 8}" text-anchor="{_anchor(x)}" fill="#1d2330" '
        f'font-size="11">'
        f"{escape(_short(milestone.title))}</text></g></a>"
    )


def _anchor(x: float) -> str:
    """Labels near an edge grow inwards so they are never clipped."""
    if x > WIDTH - 70:
        return "end"
    return "start" if x < 70 else "middle"


def _short(title: str) -> str:
    return title if len(title) <= 18 else title[:17] + "…"


def _today_svg(today: date, scale: _Scale) -> str:
    x = scale.x(today)
    return (
        f'<g class="today"><line x1="{x}" x2="{x}" y1="18" y2="{BAR_Y + BAR_H + 4}" '
        f'stroke="#c53030" stroke-width="2" stroke-dasharray="4 3"/>'
        f'<text x="{x}" y="{BAR_Y + BAR_H + 30}" text-anchor="middle" fill="#c53030" '
        f'font-size="11">today</text></g>'
    )
