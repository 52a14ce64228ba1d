"""A record's workflow as a diagram (流程图): server-side SVG, no client library.

Steps are laid out top to bottom in layers (longest path from the start step,
ignoring the edges that go back, such as `return`); each layer is centred.
The path the record took (from its history) is drawn solid and coloured, the
current step stands out with who holds it, and the steps the current one can
lead to are outlined with who would take them next. The SVG is inline in the
page and uses presentation attributes and classes only (no inline style: CSP).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup, escape

from engine.definitions.workflow_graph import edges as workflow_edges, layers as workflow_layers

W, H = 172, 50  # node box
HGAP, VGAP = 22, 40
PAD = 10
PADX = 36  # room for the edges that go round the boxes
FONT = 12


@dataclass
class Node:
    name: str
    label: str
    layer: int = 0
    x: float = 0
    y: float = 0
    kind: str = "idle"  # done | current | next | idle
    note: str = ""  # who holds it (current) or who comes next (next)
    tone: str = ""  # bad: a final step reached by rejecting or cancelling
    edges: list = field(default_factory=list)


def _text_width(text: str) -> float:
    return sum(FONT + 1 if ord(ch) > 0x2E80 else FONT * 0.6 for ch in text)


def _fit(text: str, width: float) -> str:
    if _text_width(text) <= width:
        return text
    while text and _text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def path_taken(history) -> list[tuple[str, str]]:
    """The transitions the record made, oldest first, from its history events."""
    return [(e.from_state, e.to_state) for e in history
            if getattr(e, "from_state", None) and getattr(e, "to_state", None) and e.from_state != e.to_state]


def build(wf, state: str | None, history, step_label, holders: str = "", next_steps: dict | None = None,
          tones: dict | None = None) -> list[Node]:
    """The nodes, laid out. `next_steps`: {step: who would take it} for the steps the
    current one can lead to; `tones`: {step: "bad"} for refusing ends."""
    edges = workflow_edges(wf)
    layer = workflow_layers(wf, edges)
    taken = path_taken(history)
    visited = {wf.start} | {a for a, _ in taken} | {b for _, b in taken}
    nodes = {n: Node(n, step_label(n), layer[n]) for n in wf.steps}
    for n in nodes.values():
        n.tone = (tones or {}).get(n.name, "")
        if n.name == state:
            n.kind, n.note = "current", holders
        elif next_steps and n.name in next_steps:
            n.kind, n.note = "next", next_steps[n.name]
        elif n.name in visited and state is not None:
            n.kind = "done"
    rows: dict[int, list[Node]] = {}
    for n in nodes.values():
        rows.setdefault(n.layer, []).append(n)
    # one downward pass of the barycentre heuristic: a step sits under the steps leading to it
    preds: dict[str, list[str]] = {}
    for a, b in edges:
        if layer[b] > layer[a]:
            preds.setdefault(b, []).append(a)
    index: dict[str, float] = {}
    for depth in sorted(rows):
        row = rows[depth]
        for i, n in enumerate(row):
            ps = [index[p] for p in preds.get(n.name, ()) if p in index]
            n.x = sum(ps) / len(ps) if ps else i  # a rank for sorting, replaced below
        row.sort(key=lambda n: (n.tone == "bad", n.x))
        for i, n in enumerate(row):
            index[n.name] = i - (len(row) - 1) / 2
    widest = max(len(r) for r in rows.values())
    total_w = widest * W + (widest - 1) * HGAP
    for depth, row in rows.items():
        row_w = len(row) * W + (len(row) - 1) * HGAP
        x0 = PADX + (total_w - row_w) / 2
        for i, n in enumerate(row):
            n.x, n.y = x0 + i * (W + HGAP), PAD + depth * (H + VGAP)
    for a, b in edges:
        # ways out to a refusing end (reject, discard) are many and alike: drawn only when taken
        if nodes[b].tone == "bad" and (a, b) not in taken:
            continue
        nodes[a].edges.append((b, (a, b) in taken))
    return list(nodes.values())


def svg(nodes: list[Node], title: str) -> Markup:
    """The diagram as inline SVG markup."""
    if not nodes:
        return Markup("")
    by_name = {n.name: n for n in nodes}
    width = max(n.x for n in nodes) + W + PADX
    height = max(n.y for n in nodes) + H + PAD
    out = [f'<svg class="flow" id="flow-diagram" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'width="{width:.0f}" height="{height:.0f}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>",
           '<defs><marker id="flow-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" '
           'orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" class="flow-arrow"/></marker>'
           '<marker id="flow-arrow-taken" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" '
           'orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" class="flow-arrow taken"/></marker></defs>']
    for n in nodes:
        for target, taken in n.edges:
            m = by_name[target]
            if m.layer == n.layer + 1:
                x1, y1, x2, y2 = n.x + W / 2, n.y + H, m.x + W / 2, m.y
                d = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{y1 + VGAP * .8:.0f} {x2:.0f},{y2 - VGAP * .8:.0f} {x2:.0f},{y2 - 2:.0f}"
            elif m.layer > n.layer:  # past other layers: leave and enter by the sides, around the boxes
                side = -1 if m.x + W / 2 <= n.x + W / 2 else 1
                x1 = n.x + (0 if side < 0 else W)
                x2 = m.x + (0 if side < 0 else W)
                y1, y2 = n.y + H / 2, m.y + H / 2
                out_x = (min(x1, x2) - HGAP) if side < 0 else (max(x1, x2) + HGAP)
                d = f"M{x1:.0f},{y1:.0f} C{out_x:.0f},{y1:.0f} {out_x:.0f},{y2:.0f} {x2 + (-2 if side < 0 else 2):.0f},{y2:.0f}"
            elif taken:  # a step back the record really took (returned): around the right side
                x1, y1, x2, y2 = n.x + W, n.y + H / 2, m.x + W, m.y + H / 2
                bulge = max(x1, x2) + 28
                d = f"M{x1:.0f},{y1:.0f} C{bulge:.0f},{y1:.0f} {bulge:.0f},{y2:.0f} {x2 + 2:.0f},{y2:.0f}"
            else:
                continue
            cls = "flow-edge taken" if taken else "flow-edge"
            marker = "flow-arrow-taken" if taken else "flow-arrow"
            out.append(f'<path d="{d}" class="{cls}" fill="none" marker-end="url(#{marker})"/>')
    for n in nodes:
        cls = f"flow-node {n.kind}" + (f" tone-{n.tone}" if n.tone else "")
        out.append(f'<g class="{cls}" data-step="{escape(n.name)}">'
                   f'<rect x="{n.x:.0f}" y="{n.y:.0f}" width="{W}" height="{H}" rx="8"/>')
        label_y = n.y + (H / 2 - 3 if n.note else H / 2 + 4)
        out.append(f'<text x="{n.x + W / 2:.0f}" y="{label_y:.0f}" text-anchor="middle" class="flow-label">'
                   f"{escape(_fit(n.label, W - 12))}</text>")
        if n.note:
            out.append(f'<text x="{n.x + W / 2:.0f}" y="{n.y + H / 2 + 13:.0f}" text-anchor="middle" '
                       f'class="flow-note">{escape(_fit(n.note, W - 12))}</text>')
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))
