"""Lifecycle diagrams from a definition: Mermaid, Graphviz DOT and a self-contained SVG."""

from __future__ import annotations

from collections import defaultdict
from html import escape

from .definition import Definition, Transition
from .svg_layout import Layout, lay_out, layered_columns, render_svg

CURRENT_FILL = "#fde68a"
CURRENT_STROKE = "#b45309"


def _edges(defn: Definition) -> list[tuple[str, str, Transition]]:
    return [
        (source, target, t)
        for t in defn.transitions
        for source in t.from_states
        for target in defn.returns_to(t)
    ]


def _mermaid_text(text: str) -> str:
    # Mermaid has no escaping for ':' or quotes in state diagrams: use look-alike characters.
    return text.replace(":", "\u2236").replace('"', "'").replace("\n", " ")


def to_mermaid(defn: Definition, current: str | None = None) -> str:
    """A Mermaid stateDiagram-v2 of the definition, `current` highlighted."""
    lines = ["stateDiagram-v2", f"    [*] --> {defn.initial_state}"]
    for state in defn.states.values():
        lines.append(f"    {state.name}: {_mermaid_text(state.label)}")
    for source, target, transition in _edges(defn):
        lines.append(f"    {source} --> {target}: {_mermaid_text(transition.label)}")
    for name in defn.final_states:
        lines.append(f"    {name} --> [*]")
    if current in defn.states:
        style = f"fill:{CURRENT_FILL},stroke:{CURRENT_STROKE},stroke-width:3px"
        lines.append(f"    classDef current {style}")
        lines.append(f"    class {current} current")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _dot_node(defn: Definition, name: str, current: str | None) -> str:
    state = defn.states[name]
    attrs = [f'label="{_dot_text(state.label)}"']
    if state.final:
        attrs.append("peripheries=2")
    if name == current:
        attrs += [f'fillcolor="{CURRENT_FILL}"', f'color="{CURRENT_STROKE}"', "penwidth=2"]
        attrs.append('class="current"')
    return f"  {name} [{', '.join(attrs)}];"


def to_dot(defn: Definition, current: str | None = None) -> str:
    """A Graphviz DOT digraph of the definition, `current` filled and outlined."""
    lines = [
        f'digraph "{_dot_text(defn.name)}" {{',
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#f8fafc", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  __start [shape=point, width=0.15, label=""];',
        f"  __start -> {defn.initial_state};",
    ]
    lines += [_dot_node(defn, name, current) for name in defn.states]
    for source, target, transition in _edges(defn):
        style = ", style=dashed" if transition.from_any else ""
        lines.append(f'  {source} -> {target} [label="{_dot_text(transition.label)}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _svg_parts(defn: Definition) -> tuple[list[list[str]], dict, list[str]]:
    """Columns, labels per (source, target) edge, and the notes for from-any transitions."""
    columns = layered_columns(defn)
    labels: dict[tuple[str, str], list[str]] = defaultdict(list)
    any_state: list[str] = []
    for source, target, transition in _edges(defn):
        if transition.from_any:
            entry = f"{transition.label} \u2192 {defn.states[target].label}"
            if entry not in any_state:
                any_state.append(entry)
            continue
        labels[(source, target)].append(transition.label)
    notes = [f"From any open state: {escape(text)}" for text in any_state]
    return columns, dict(labels), notes


def svg_layout(defn: Definition) -> Layout:
    """Where to_svg puts the state boxes and edge labels (for checking they stay apart)."""
    columns, labels, _ = _svg_parts(defn)
    return lay_out(columns, labels)


def to_svg(defn: Definition, current: str | None = None) -> str:
    """A self-contained SVG (no scripts, no external references) with `current` highlighted."""
    columns, labels, notes = _svg_parts(defn)
    return render_svg(defn, columns, labels, notes, current)
