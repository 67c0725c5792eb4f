"""A server-rendered SVG timeline: the setup span and each dated period, with milestones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from markupsafe import Markup

from tracker.models import Engagement, Milestone
from tracker.services.milestone_status import DisplayedStatus, TargetEvidence, displayed_status
from tracker.services.workflow import lifecycle

WIDTH, LEFT, RIGHT = 960, 24, 64
BAR_H = 22
LANE_H, LABEL_FONT, CHAR_W, LABEL_GAP = 15, 11, 6.6, 6
TOP = 8  # room above the highest label lane
# Each displayed status (services/milestone_status) has its own colour AND shape, so the
# timeline reads without colour. (shape, colour): planned is hollow; met and on track
# differ in hue and form; overdue is a red octagon whatever the provider last said.
STATUS_MARKS = {
    "planned": ("circle-open", "#64748b"),
    "on_track": ("circle", "#1d4ed8"),
    "awaiting_verdict": ("circle-dot", "#1e40af"),
    "at_risk": ("triangle", "#b45309"),
    "contradicted": ("triangle-open", "#c2410c"),
    "blocked": ("square", "#b91c1c"),
    "overdue": ("octagon", "#c53030"),
    "met": ("diamond", "#15803d"),
    "missed": ("cross", "#7f1d1d"),
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


@dataclass(frozen=True)
class LabelBox:
    """Where a milestone's label is drawn: its lane (0 nearest the bar) and its box."""

    lane: int
    x0: float
    x1: float
    anchor: str

    def y_range(self, bar_y: float) -> tuple[float, float]:
        """Top and bottom of the label's text in drawing coordinates."""
        baseline = bar_y - 8 - self.lane * LANE_H
        return baseline - LABEL_FONT, baseline + 2


def label_width(text: str) -> float:
    """A generous estimate of the text's width at the label size (no font metrics server-side)."""
    return len(text) * CHAR_W


def _box_for(x: float, text: str) -> tuple[float, float, str]:
    anchor, width = _anchor(x), label_width(text)
    if anchor == "start":
        return x, x + width, anchor
    if anchor == "end":
        return x - width, x, anchor
    return x - width / 2, x + width / 2, anchor


def _free(intervals: list[tuple[float, float]], x0: float, x1: float) -> bool:
    return all(x1 + LABEL_GAP <= a or x0 >= b + LABEL_GAP for a, b in intervals)


def place_labels(xs_and_texts: list[tuple[float, str]]) -> list[LabelBox]:
    """Stagger labels into lanes so no two labels, nor a label and a leader line, overlap.

    Greedy from left to right: each label takes the lowest lane where its box is free and
    its leader line (drawn down to the marker) crosses no label in the lanes below.
    """
    occupied: list[list[tuple[float, float]]] = []
    boxes: dict[int, LabelBox] = {}
    order = sorted(range(len(xs_and_texts)), key=lambda i: xs_and_texts[i][0])
    for i in order:
        x, text = xs_and_texts[i]
        x0, x1, anchor = _box_for(x, text)
        lane = 0
        while lane < len(occupied) and not (
            _free(occupied[lane], x0, x1)
            and all(_free(occupied[low], x - 1, x + 1) for low in range(lane))
        ):
            lane += 1
        while len(occupied) <= lane:
            occupied.append([])
        occupied[lane].append((x0, x1))
        for low in range(lane):
            occupied[low].append((x - 1, x + 1))  # the leader line passes through
        boxes[i] = LabelBox(lane, x0, x1, anchor)
    return [boxes[i] for i in range(len(xs_and_texts))]


def _statuses(milestones, today, evidence, statuses) -> list[DisplayedStatus]:
    if statuses is not None:
        return [statuses[m.id] for m in milestones]
    return [displayed_status(m, today, (evidence or {}).get(m.id)) for m in milestones]


def timeline_svg(
    engagement: Engagement,
    milestones: list[Milestone],
    today: date,
    evidence: Mapping[int, Sequence[TargetEvidence]] | None = None,
    statuses: Mapping[int, DisplayedStatus] | None = None,
) -> Markup:
    """The SVG markup (safe: every text is escaped here). `statuses`, when given, are the
    milestones' `displayed_status` judged already (the page shows the same ones)."""
    spans = _spans(engagement)
    days = [d for span in spans for d in (span.start, span.end)]
    days += [m.due_date for m in milestones] + [today]
    scale = _Scale(min(days) - timedelta(days=3), max(days) + timedelta(days=3))
    boxes = place_labels([(scale.x(m.due_date), _short(m.title)) for m in milestones])
    lanes = max((b.lane for b in boxes), default=0) + 1
    bar_y = TOP + lanes * LANE_H + 12
    height = bar_y + BAR_H + 38
    parts = [_span_svg(span, scale, bar_y) for span in spans]
    shown = _statuses(milestones, today, evidence, statuses)
    parts += [
        _milestone_svg(m, b, scale, bar_y, status)
        for m, b, status in zip(milestones, boxes, shown, strict=True)
    ]
    parts.append(_today_svg(today, scale, bar_y))
    title = f"Timeline of {escape(engagement.title)}"
    return Markup(
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" role="group" '
        f'aria-label="{title}" xmlns="http://www.w3.org/2000/svg" '
        f'data-today="{scale.x(today) / WIDTH:.3f}" '
        f'font-family="system-ui, DejaVu Sans, sans-serif" font-size="12">'
        f"<title>{title}</title>{''.join(parts)}</svg>"
    )


def _span_svg(span: Span, scale: _Scale, bar_y: float) -> str:
    x1, x2 = scale.x(span.start), scale.x(span.end)
    name = escape(span.label)
    text = f"{span.label} · {span.start:%-d %b} – {span.end:%-d %b %Y}"
    return (
        f'<g class="span span-{escape(span.state)}"><title>{escape(text)}</title>'
        f'<rect x="{x1}" y="{bar_y}" width="{max(2, x2 - x1)}" height="{BAR_H}" rx="4" '
        f'fill="{TONE_FILLS.get(span.tone, TONE_FILLS["grey"])}" stroke="#94a3b8"/>'
        f'<text x="{x1 + 6}" y="{bar_y + 15}" fill="#1d2330">{name}</text>'
        f'<text x="{x1}" y="{bar_y + BAR_H + 16}" fill="#5b6474" font-size="11">'
        f"{span.start:%-d %b}</text></g>"
    )


def marker_svg(status: str, x: float, y: float, r: float = 8) -> str:
    """The status's shape centred on (x, y): colour and form both say the status."""
    shape, colour = STATUS_MARKS.get(status, STATUS_MARKS["planned"])
    edge = 'stroke="#fff" stroke-width="1.5"'
    if shape == "circle-open":
        return (
            f'<circle cx="{x}" cy="{y}" r="{r - 1.5}" fill="#fff" stroke="{colour}" '
            f'stroke-width="2.5"/>'
        )
    if shape == "circle":
        return f'<circle cx="{x}" cy="{y}" r="{r - 1}" fill="{colour}" {edge}/>'
    if shape == "circle-dot":
        return (
            f'<circle cx="{x}" cy="{y}" r="{r - 1.5}" fill="#fff" stroke="{colour}" '
            f'stroke-width="2.5"/><circle cx="{x}" cy="{y}" r="{r / 3}" fill="{colour}"/>'
        )
    if shape in ("triangle", "triangle-open"):
        points = f"{x},{y - r} {x + r},{y + r * 0.8} {x - r},{y + r * 0.8}"
        if shape == "triangle-open":
            return f'<polygon points="{points}" fill="#fff" stroke="{colour}" stroke-width="2.5"/>'
        return f'<polygon points="{points}" fill="{colour}" {edge}/>'
    if shape == "octagon":
        return f'<polygon points="{_octagon(x, y, r + 1)}" fill="{colour}" {edge}/>'
    if shape == "square":
        side = r * 1.6
        return (
            f'<rect x="{x - side / 2}" y="{y - side / 2}" width="{side}" height="{side}" '
            f'fill="{colour}" {edge}/>'
        )
    if shape == "diamond":
        points = f"{x},{y - r - 1} {x + r + 1},{y} {x},{y + r + 1} {x - r - 1},{y}"
        return f'<polygon points="{points}" fill="{colour}" {edge}/>'
    d = r * 0.7
    return (
        f'<path d="M{x - d},{y - d} L{x + d},{y + d} M{x + d},{y - d} L{x - d},{y + d}" '
        f'stroke="{colour}" stroke-width="3.5" stroke-linecap="round" fill="none"/>'
    )


def _octagon(x: float, y: float, r: float) -> str:
    """A stop sign's eight corners around (x, y)."""
    a = round(r * 0.414, 1)
    corners = [(-a, -r), (a, -r), (r, -a), (r, a), (a, r), (-a, r), (-r, a), (-r, -a)]
    return " ".join(f"{round(x + dx, 1)},{round(y + dy, 1)}" for dx, dy in corners)


def legend_svg(status: str) -> Markup:
    """A small picture of the status's marker, for the legend under the timeline."""
    return Markup(
        '<svg class="legend-mark" viewBox="0 0 20 20" width="16" height="16" aria-hidden="true" '
        f'xmlns="http://www.w3.org/2000/svg">{marker_svg(status, 10, 10)}</svg>'
    )


def _milestone_svg(
    milestone: Milestone, box: LabelBox, scale: _Scale, bar_y: float, shown: DisplayedStatus
) -> str:
    x, y = scale.x(milestone.due_date), bar_y + BAR_H / 2
    said = [shown.claim] if shown.claim else []
    said += [f"Measured: {c}" for c in shown.contradictions]
    text = " · ".join([milestone.title, f"due {milestone.due_date:%-d %b %Y}", shown.label, *said])
    top, bottom = box.y_range(bar_y)
    label_x = {"start": box.x0, "end": box.x1}.get(box.anchor, x)
    return (
        f'<a href="#milestone-{milestone.id}"><g class="milestone status-{shown.key}" '
        f'data-lane="{box.lane}"><title>{escape(text)}</title>'
        f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{y - 9}" stroke="#94a3b8"/>'
        f"{marker_svg(shown.key, x, y)}"
        f'<text x="{label_x}" y="{bottom - 2}" text-anchor="{box.anchor}" fill="#1d2330" '
        f'font-size="{LABEL_FONT}">{escape(_short(milestone.title))}</text></g></a>'
    )


def _anchor(x: float) -> str:
    """Labels near an edge grow inwards so they are never clipped."""
    if x > WIDTH - 70:
        return "end"
    return "start" if x < 70 else "middle"


def _short(title: str) -> str:
    return title if len(title) <= 18 else title[:17] + "…"


def _today_svg(today: date, scale: _Scale, bar_y: float) -> str:
    x = scale.x(today)
    return (
        f'<g class="today"><line x1="{x}" x2="{x}" y1="{bar_y - 6}" y2="{bar_y + BAR_H + 4}" '
        f'stroke="#c53030" stroke-width="2" stroke-dasharray="4 3"/>'
        f'<text x="{x}" y="{bar_y + BAR_H + 30}" text-anchor="middle" fill="#c53030" '
        f'font-size="11">today</text></g>'
    )
