"""A workflow drawn as server-side SVG, each step coloured by its median time (the bottleneck
at a glance) — for the per-workflow insights page.

Steps are placed in columns by their layer (the longest path from the start,
`definitions/workflow_graph.py`, the same shape as the record page's diagram);
an arrow joins each step to every step an action can send it to. Colour runs from green (the
quickest step) to red (the slowest); steps nobody has finished are grey.
"""
from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Mapping

from ..definitions.workflow_graph import layers as workflow_layers

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 168, 62, 56, 22, 16


def layout(wf) -> dict[str, tuple[int, int]]:
    """step → (column, row): the column is the step's layer (workflow_graph.layers, as the
    record page's diagram draws it), the row its place among that layer's steps."""
    rows: dict[int, int] = {}
    out = {}
    for name, column in workflow_layers(wf).items():
        out[name] = (column, rows.get(column, 0))
        rows[column] = rows.get(column, 0) + 1
    return out


def heat(value: Decimal | None, top: Decimal) -> str:
    """Green (quick) to red (slow) through amber; grey when there is no figure."""
    if value is None:
        return "#e5e7eb"
    share = float(value / top) if top else 0.0
    r = int(80 + 175 * min(1.0, share * 2))
    g = int(200 - 140 * max(0.0, share * 2 - 1))
    return f"#{r:02x}{g:02x}70"


def render_process_map(wf, medians: Mapping[str, Decimal | None], waiting: Mapping[str, int],
                       language: str | None, words: Mapping[str, str]) -> str:
    """The SVG of `wf`: `medians` and `waiting` (records there now) per step name; `words`
    holds the captions in the reader's language (median, hours, now)."""
    places = layout(wf)
    cols = max(c for c, _ in places.values()) + 1
    rows = max(r for _, r in places.values()) + 1
    width = PAD * 2 + cols * BOX_W + (cols - 1) * GAP_X
    height = PAD * 2 + rows * BOX_H + (rows - 1) * GAP_Y
    top = max((v for v in medians.values() if v is not None), default=Decimal(0))

    def box(name):
        c, r = places[name]
        return PAD + c * (BOX_W + GAP_X), PAD + r * (BOX_H + GAP_Y)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="process-map" role="img" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             '<defs><marker id="pm-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
             'fill="#6b7280"/></marker></defs>']
    for name, step in wf.steps.items():
        x1, y1 = box(name)
        targets = {b.to for a in step.actions.values() for b in a.branches if b.to in places}
        for to in sorted(targets):
            x2, y2 = box(to)
            if places[to][0] > places[name][0]:
                d = f"M{x1 + BOX_W},{y1 + BOX_H / 2} L{x2},{y2 + BOX_H / 2}"
            else:  # back to an earlier (or the same) column: a curve below the boxes
                low = max(y1, y2) + BOX_H + GAP_Y / 2
                d = (f"M{x1 + BOX_W / 2},{y1 + BOX_H} C{x1 + BOX_W / 2},{low} "
                     f"{x2 + BOX_W / 2},{low} {x2 + BOX_W / 2},{y2 + BOX_H}")
            parts.append(f'<path d="{d}" fill="none" stroke="#9ca3af" stroke-width="1.2" '
                         'marker-end="url(#pm-arrow)"/>')
    for name, step in wf.steps.items():
        x, y = box(name)
        median = medians.get(name)
        title = escape(step.title.get(language) or name)
        figure = (f"{words['median']} {median} {words['hours']}" if median is not None
                  else ("—" if not step.final else words["final"]))
        now = waiting.get(name) or 0
        parts.append(
            f'<g class="pm-step" data-step="{escape(name)}"><title>{title}: {escape(figure)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
            f'fill="{heat(median, top) if not step.final else "#f3f4f6"}" stroke="#374151" '
            f'stroke-width="{2 if name == wf.start else 1}"/>'
            f'<text x="{x + 10}" y="{y + 20}" font-weight="bold">{title[:24]}</text>'
            f'<text x="{x + 10}" y="{y + 38}">{escape(figure)}</text>'
            + (f'<text x="{x + 10}" y="{y + 54}" fill="#7f1d1d">{escape(words["now"])}: {now}</text>'
               if now else "") + "</g>")
    parts.append("</svg>")
    return "".join(parts)
