"""A server-rendered SVG timeline: discovery, trial and extension periods with milestones."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

from markupsafe import Markup

from tracker.models import Engagement, Milestone, label

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
PERIOD_COLOURS = {"discovery": "#e2e8f0", "trial": "#c7d7f7", "extension": "#ddd0f5"}


def _spans(engagement: Engagement) -> list[tuple[str, date, date]]:
    """(name, start, end) of each period that has dates."""
    spans = []
    trial_start, trial_end = engagement.trial_start, engagement.trial_end
    if engagement.discovery_start:
        end = trial_start or engagement.discovery_start + timedelta(days=28)
        spans.append(("discovery", engagement.discovery_start, end))
    if trial_start and trial_end:
        spans.append(("trial", trial_start, trial_end))
    has_extension = engagement.current_period >= 1 and engagement.period_start
    if has_extension and engagement.period_end:
        spans.append(("extension", engagement.period_start, engagement.period_end))
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
    days = [d for _, s, e in spans for d in (s, e)] + [m.due_date for m in milestones] + [today]
    scale = _Scale(min(days) - timedelta(days=3), max(days) + timedelta(days=3))
    parts = [_span_svg(name, start, end, scale) for name, start, end in spans]
    parts += [_milestone_svg(m, scale) for m in milestones]
    parts.append(_today_svg(today, scale))
    title = f"Timeline of {escape(engagement.title)}"
    return Markup(
        f'<svg class="timeline" viewBox="0 0 {WIDTH} 110" role="img" '
        f'aria-label="{title}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, DejaVu Sans, sans-serif" font-size="12">'
        f"<title>{title}</title>{''.join(parts)}</svg>"
    )


def _span_svg(name: str, start: date, end: date, scale: _Scale) -> str:
    x1, x2 = scale.x(start), scale.x(end)
    text = f"{label(name)} · {start:%-d %b} – {end:%-d %b %Y}"
    return (
        f'<g class="span span-{name}"><title>{escape(text)}</title>'
        f'<rect x="{x1}" y="{BAR_Y}" width="{max(2, x2 - x1)}" height="{BAR_H}" rx="4" '
        f'fill="{PERIOD_COLOURS[name]}" stroke="#94a3b8"/>'
        f'<text x="{x1 + 6}" y="{BAR_Y + 15}" fill="#1d2330">{escape(label(name))}</text>'
        f'<text x="{x1}" y="{BAR_Y + BAR_H + 16}" fill="#5b6474" font-size="11">'
        f"{start:%-d %b}</text></g>"
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
