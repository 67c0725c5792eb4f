"""A small layered layout and SVG renderer for lifecycle diagrams (no scripts, no external refs)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from .definition import Definition

COL_W, BOX_W, BOX_H, ROW_GAP, MARGIN, TOP = 168, 110, 48, 64, 16, 64
FILL, STROKE, TEXT = "#f8fafc", "#475569", "#0f172a"
CURRENT_FILL, CURRENT_STROKE = "#fde68a", "#b45309"
# Edge labels and notes at 13: a laptop page draws the diagram at no less than about
# 0.9 of its size (a min-width in app.css), so they stay at 11 CSS px or more.
LABEL_FONT = NOTE_FONT = 13
CHAR_W = 7.4  # a generous average glyph width at LABEL_FONT (no font metrics here)
LINE = 15.5  # edge-label line height
STEP = 4.0  # how far a label moves per try when its first place is taken
REACH = 120.0  # how far up or down a label may move before it goes sideways or under all


@dataclass(frozen=True)
class Box:
    """Where a state is drawn: its centre."""

    x: float
    y: float

    @property
    def bottom(self) -> float:
        """The y of the box's lower edge."""
        return self.y + BOX_H / 2


def layered_columns(defn: Definition) -> list[list[str]]:
    """States grouped by breadth-first depth from the initial state; final states last."""
    depth = {defn.initial_state: 0}
    frontier = [defn.initial_state]
    while frontier:
        node = frontier.pop(0)
        for t in defn.transitions:
            if node in t.from_states and not (t.from_any or t.history) and t.to not in depth:
                depth[t.to] = depth[node] + 1
                frontier.append(t.to)
    open_depths = [d for n, d in depth.items() if not defn.states[n].final]
    last = max(open_depths, default=0) + 1
    for name, state in defn.states.items():
        if state.final or name not in depth:
            depth[name] = last
    columns: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for name in defn.states:
        columns[depth[name]].append(name)
    return [c for c in columns if c]


def _place(columns: list[list[str]]) -> dict[str, Box]:
    rows = max(len(c) for c in columns)
    middle = TOP + rows * (BOX_H + ROW_GAP) / 2
    boxes = {}
    for i, column in enumerate(columns):
        first = middle - (len(column) - 1) * (BOX_H + ROW_GAP) / 2
        for j, name in enumerate(column):
            boxes[name] = Box(MARGIN + i * COL_W + COL_W / 2, first + j * (BOX_H + ROW_GAP))
    return boxes


def _wrap(label: str, width: int) -> list[str]:
    """Greedy word wrap; a word longer than `width` gets a line of its own."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _state_svg(defn: Definition, name: str, box: Box, current: str | None) -> str:
    state = defn.states[name]
    is_current = name == current
    fill, stroke = (CURRENT_FILL, CURRENT_STROKE) if is_current else (FILL, STROKE)
    x, y = box.x - BOX_W / 2, box.y - BOX_H / 2
    width = 3 if is_current else 1.5
    parts = [
        f'<g class="state{" current" if is_current else ""}{" final" if state.final else ""}" '
        f'id="state-{escape(name)}">',
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="10" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>',
    ]
    if state.final:
        parts.append(
            f'<rect x="{x + 4:.1f}" y="{y + 4:.1f}" width="{BOX_W - 8}" height="{BOX_H - 8}" '
            f'rx="7" fill="none" stroke="{stroke}" stroke-width="1"/>'
        )
    lines = _wrap(state.label, 15)
    for k, line in enumerate(lines):
        dy = (k - (len(lines) - 1) / 2) * 15 + 4.5
        weight = ' font-weight="bold"' if is_current else ""
        parts.append(
            f'<text x="{box.x:.1f}" y="{box.y + dy:.1f}" text-anchor="middle" '
            f'font-size="13"{weight} fill="{TEXT}">{escape(line)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


@dataclass(frozen=True)
class Label:
    """An edge label: centre x, baseline of its first line, and its wrapped lines."""

    x: float
    first: float
    lines: tuple[str, ...]

    def rect(self, dy: float = 0, dx: float = 0) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the text block moved by (dx, dy)."""
        half = max(len(line) for line in self.lines) * CHAR_W / 2 + 2
        top = self.first + dy - LABEL_FONT
        bottom = top + (len(self.lines) - 1) * LINE + LABEL_FONT + 4
        return self.x + dx - half, top, self.x + dx + half, bottom


def _label(x: float, y: float, text: str, above: bool = True) -> Label:
    """A label whose block ends just above y (or starts just below it)."""
    lines = tuple(_wrap(text, 12))
    first = y - 6 - (len(lines) - 1) * LINE if above else y + LABEL_FONT + 2
    return Label(x, first, lines)


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _node_rect(box: Box) -> tuple[float, float, float, float]:
    return box.x - BOX_W / 2, box.y - BOX_H / 2, box.x + BOX_W / 2, box.y + BOX_H / 2


def _shifts() -> list[tuple[float, float]]:
    """The moves a label tries, nearest first: up and down, then a little to either side."""
    steps = int(REACH / STEP)
    vertical = [0.0] + [sign * k * STEP for k in range(1, steps + 1) for sign in (-1, 1)]
    return [(dx, dy) for dx in (0.0, -COL_W / 4, COL_W / 4) for dy in vertical]


@dataclass(frozen=True)
class PlacedLabel:
    """A label where it is drawn: its lines from the first baseline, and its box."""

    label: Label
    dx: float
    dy: float

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return self.label.rect(self.dy, self.dx)

    def svg(self) -> str:
        """One group per label (its lines), so a browser can measure the label as a block."""
        lines = "".join(
            f'<text class="label" x="{self.label.x + self.dx:.1f}" '
            f'y="{self.label.first + self.dy + k * LINE:.1f}" text-anchor="middle" '
            f'font-size="{LABEL_FONT}" fill="#334155">{escape(line)}</text>'
            for k, line in enumerate(self.label.lines)
        )
        return f'<g class="edge-label">{lines}</g>'


def place_labels(labels: list[Label], boxes: dict[str, Box], width: float) -> list[PlacedLabel]:
    """Each label at the nearest place that meets no state box, no label placed before it,
    the title band or the sides; when none is free within reach, on a row of its own under
    everything drawn so far. So no two labels overlap and none covers a box, whatever the
    definition (the drawing grows taller instead)."""
    taken = [_node_rect(b) for b in boxes.values()]
    placed: list[PlacedLabel] = []
    for label in labels:
        for dx, dy in _shifts():
            box = label.rect(dy, dx)
            if (
                box[1] >= TOP - 16
                and box[0] >= 0
                and box[2] <= width
                and not any(_overlaps(box, t) for t in taken)
            ):
                break
        else:
            dx = 0.0
            left, top, right, _ = label.rect()
            if left < 0 or right > width:  # keep it inside the drawing
                dx = -left if left < 0 else width - right
            dy = max(t[3] for t in taken) + 6 - top
        chosen = PlacedLabel(label, dx, dy)
        taken.append(chosen.rect)
        placed.append(chosen)
    return placed


def _path_svg(d: str, label: str, x: float, y: float, above: bool = True) -> tuple[str, Label]:
    path = (
        f'<path class="transition" d="{d}" fill="none" stroke="{STROKE}" stroke-width="1.3" '
        'marker-end="url(#arrow)"/>'
    )
    return path, _label(x, y, label, above)


def _border(box: Box, toward_x: float, toward_y: float, gap: float = 0) -> tuple[float, float]:
    """Where the line from the box centre toward a point leaves the box (plus a gap)."""
    dx, dy = toward_x - box.x, toward_y - box.y
    scale = min(
        (BOX_W / 2 + gap) / abs(dx) if dx else float("inf"),
        (BOX_H / 2 + gap) / abs(dy) if dy else float("inf"),
    )
    return box.x + dx * scale, box.y + dy * scale


def _neighbour_svg(a: Box, b: Box, label: str, has_reverse: bool) -> tuple[str, Label]:
    """An edge between adjacent columns; a pair of opposite edges bows apart."""
    bow = (-18 if b.x > a.x else 18) if has_reverse else 0
    cx, cy = (a.x + b.x) / 2, (a.y + b.y) / 2 + 2 * bow
    x1, y1 = _border(a, cx, cy)
    x2, y2 = _border(b, cx, cy, gap=2)
    d = f"M{x1:.1f},{y1:.1f} Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}"
    if y1 == y2:  # horizontal: label over the middle of the arrow
        return _path_svg(d, label, (x1 + 2 * cx + x2) / 4, (y1 + 2 * cy + y2) / 4, bow <= 0)
    t = 0.3  # diagonal: label near the source end, so crossing edges keep their labels apart
    lx = (1 - t) ** 2 * x1 + 2 * t * (1 - t) * cx + t * t * x2
    ly = (1 - t) ** 2 * y1 + 2 * t * (1 - t) * cy + t * t * y2
    return _path_svg(d, label, lx, ly, above=y2 < y1 if not bow else bow < 0)


def _edge_svg(a: Box, b: Box, label: str, has_reverse: bool, floor: float) -> tuple[str, Label]:
    """The edge's path and its label; long edges run under every box, like a bus."""
    span = round(abs(b.x - a.x) / COL_W)
    if span == 0:  # same column: straight down or up between the boxes
        sign = 1 if b.y > a.y else -1
        y1, y2 = a.y + sign * BOX_H / 2, b.y - sign * (BOX_H / 2 + 2)
        lines = _wrap(label, 12)
        x = a.x + 6 + max(len(line) for line in lines) * CHAR_W / 2
        y = (y1 + y2) / 2 - len(lines) * LINE / 2 - 8
        return _path_svg(f"M{a.x:.1f},{y1:.1f} L{b.x:.1f},{y2:.1f}", label, x, y, above=False)
    if span == 1:
        return _neighbour_svg(a, b, label, has_reverse)
    low = floor + 36
    d = (
        f"M{a.x:.1f},{a.bottom:.1f} C{a.x:.1f},{low:.1f} {b.x:.1f},{low:.1f} "
        f"{b.x:.1f},{b.bottom + 2:.1f}"
    )
    return _path_svg(d, label, (a.x + b.x) / 2, floor + 32)


@dataclass(frozen=True)
class Layout:
    """Where everything goes: state boxes, edge paths and placed edge labels."""

    boxes: dict[str, Box]
    edges: list[str]
    labels: list[PlacedLabel]
    width: int

    def node_rects(self) -> list[tuple[float, float, float, float]]:
        return [_node_rect(b) for b in self.boxes.values()]

    def label_rects(self) -> list[tuple[float, float, float, float]]:
        return [p.rect for p in self.labels]


def lay_out(columns, labels: dict) -> Layout:
    """Boxes in columns, one path per (source, target) with its label placed apart."""
    boxes = _place(columns)
    floor = max(b.bottom for b in boxes.values())
    width = 2 * MARGIN + len(columns) * COL_W
    edges, edge_labels = [], []
    for (source, target), texts in labels.items():
        path, label = _edge_svg(
            boxes[source], boxes[target], " / ".join(texts), (target, source) in labels, floor
        )
        edges.append(path)
        edge_labels.append(label)
    return Layout(boxes, edges, place_labels(edge_labels, boxes, width), width)


def render_svg(defn, columns, labels: dict, notes: list[str], current: str | None) -> str:
    """The SVG document: title, arrows with labels, state boxes, and notes underneath."""
    layout = lay_out(columns, labels)
    boxes, width = layout.boxes, layout.width
    floor = max(b.bottom for b in boxes.values())
    lowest = max([floor] + [rect[3] for rect in layout.label_rects()])
    states = [_state_svg(defn, name, box, current) for name, box in boxes.items()]
    note_top = lowest + 32
    height = note_top + 20 * len(notes) + MARGIN
    title = escape(f"{defn.title} (v{defn.version})")
    note_svg = [
        f'<text class="note" x="{MARGIN}" y="{note_top + 20 * i:.1f}" font-size="{NOTE_FONT}" '
        f'fill="#334155">{n}</text>'
        for i, n in enumerate(notes)
    ]
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
            f'viewBox="0 0 {width} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
            f'role="img" aria-label="{title}">',
            f"<title>{title}</title>",
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{STROKE}"/></marker></defs>',
            f'<rect width="{width}" height="{height:.0f}" fill="#ffffff"/>',
            f'<text x="{MARGIN}" y="30" font-size="15" font-weight="bold" '
            f'fill="{TEXT}">{title}</text>',
            *layout.edges,
            *states,
            *[placed.svg() for placed in layout.labels],
            *note_svg,
            "</svg>",
        ]
    )
