"""Server-side charts: a report result drawn as one standalone, accessible SVG.

No JavaScript and no inline script or event handlers: the web UI embeds the
markup as is. Every chart has <title> and <desc> (wired up with
aria-labelledby), axis labels, a legend when there is more than one series,
and a <title> per bar, point or slice so hovering shows the exact value.
Text is escaped; colours come from a fixed palette that stays readable for
the common colour-vision deficiencies (Okabe–Ito). Bars with a `series` are
stacked (the total per category reads off the axis, the parts off the
colours); x labels are thinned to what fits, and month buckets read as
`2026-03`.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 720, 400
MARGIN = {"left": 80, "right": 160, "top": 48, "bottom": 72}
# Okabe–Ito first, then Paul Tol's muted colours, so up to 12 series stay apart
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999", "#882255", "#44AA99", "#332288")
MAX_TABLE_ROWS = 50


def render_svg(report_spec, result, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The chart the report declares (a table when it declares none) as SVG text, drawn at
    `width` × `height` (a dashboard tile asks for its own size, so text keeps its size)."""
    chart = report_spec.chart
    kind = chart.type if chart is not None else "table"
    title = result.title or report_spec.id
    names = result.column_names()
    if kind != "table":
        x = chart.x or (names[0] if names else None)
        ys = list(chart.y) or [c.name for c in result.columns if c.role == "measure"][:1]
        if x not in names or not ys or any(y not in names for y in ys) or \
                (chart.series and chart.series not in names):
            kind = "table"
    if kind == "table":
        return _table(title, result)
    labels = {c.name: c.label for c in result.columns}
    if kind == "pie":
        return _pie(title, result, x, ys[0], labels, width, height)
    series = _series(result, x, ys, chart.series, labels)
    return _xy(kind, title, series, labels[x], ", ".join(labels[y] for y in ys), width, height)


# --- data shaping -------------------------------------------------------------

def _fmt(v) -> str:
    if v is None:
        return "(none)"
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _num(v) -> float:
    try:
        return float(v) if v is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _series(result, x: str, ys: list[str], by: str | None, labels) -> dict:
    """{"categories": [x values in order], "series": [(name, {x: value})]}."""
    idx = {n: i for i, n in enumerate(result.column_names())}
    cats: list = []
    seen = set()
    series: dict[str, dict] = {}
    for row in result.rows:
        xv = row[idx[x]]
        if xv not in seen:
            seen.add(xv)
            cats.append(xv)
        for y in ys:
            name = labels[y] if by is None else (
                _fmt(row[idx[by]]) + (f" · {labels[y]}" if len(ys) > 1 else ""))
            series.setdefault(name, {})
            series[name][xv] = series[name].get(xv, 0.0) + _num(row[idx[y]])
    return {"categories": cats, "series": list(series.items())}


# --- drawing ------------------------------------------------------------------

def _open(title: str, desc: str, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="chart-title chart-desc" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(desc)}</desc>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="16" '
        f'font-weight="bold">{escape(title)}</text>',
    ]


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


MAX_X_LABELS = 12


def _category_label(values: list):
    """How x categories are written: month buckets as 2026-03, the rest as they are."""
    if values and all(isinstance(v, date) and not isinstance(v, datetime) and v.day == 1
                      for v in values):
        return lambda v: f"{v:%Y-%m}"
    return _fmt


def _tick(v: float, step: float) -> str:
    return f"{v:,.0f}" if float(step).is_integer() else f"{v:,.2f}"


def _xy(kind: str, title: str, data: dict, x_label: str, y_label: str, width: int = WIDTH,
        height: int = HEIGHT) -> str:
    cats, series = data["categories"], data["series"]
    right = _legend_width([name for name, _ in series]) if len(series) > 1 or series and series[0][0] != y_label \
        else 24
    top = MARGIN["top"]
    ph = height - MARGIN["top"] - MARGIN["bottom"]
    stacked = kind == "bar" and len(series) > 1
    if stacked:  # the axis must reach the tallest stack, positive and negative parts apart
        ups = [sum(max(pts.get(c, 0.0), 0.0) for _, pts in series) for c in cats]
        downs = [sum(min(pts.get(c, 0.0), 0.0) for _, pts in series) for c in cats]
        values = ups + downs
    else:
        values = [v for _, pts in series for v in pts.values()]
    lo = min([0.0] + values)
    hi = _nice_max(max([0.0] + values))
    span = (hi - lo) or 1.0
    label_of = _category_label(cats)
    # the plot starts right of the widest tick label and the axis title beside it: never on top
    tick_w = max(_text_width(_tick(lo + span * i / 5, span / 5)) for i in range(6))
    left = max(MARGIN["left"], int(tick_w) + 40)
    pw = width - left - right

    def ypos(v: float) -> float:
        return top + ph - (v - lo) / span * ph

    desc = (f"{'Bar' if kind == 'bar' else 'Line'} chart of {y_label} by {x_label}: "
            f"{len(cats)} categories, {len(series)} series.")
    out = _open(title, desc, width, height)
    # axes, grid and tick labels
    out.append(f'<g class="axes" stroke="#444" aria-hidden="true">'
               f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}"/>'
               f'<line x1="{left}" y1="{ypos(max(lo, 0)):.1f}" x2="{left + pw}" '
               f'y2="{ypos(max(lo, 0)):.1f}"/></g>')
    for i in range(6):
        v = lo + span * i / 5
        y = ypos(v)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" '
                   f'stroke="#ddd" aria-hidden="true"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{escape(_tick(v, span / 5))}</text>')
    n = max(len(cats), 1)
    band = pw / n
    # labels that would overlap are left out; the rest are cut to the room they have
    widest = max([_text_width(label_of(c)) for c in cats] + [1])
    every = max(math.ceil(n / MAX_X_LABELS), math.ceil(min(widest, 90) / max(band, 1)))
    room = band * every - 6
    for i, c in enumerate(cats):
        if i % every:
            continue
        cx = left + band * (i + 0.5)
        out.append(f'<text x="{cx:.1f}" y="{top + ph + 18}" text-anchor="middle">'
                   f'{escape(_fit(label_of(c), room))}</text>')
    out.append(f'<text class="x-label" x="{left + pw / 2}" y="{height - 20}" '
               f'text-anchor="middle" font-weight="bold">{escape(x_label)}</text>')
    out.append(f'<text class="y-label" transform="translate({left - tick_w - 22:.0f} {top + ph / 2}) rotate(-90)" '
               f'text-anchor="middle" font-weight="bold">{escape(y_label)}</text>')
    # marks
    base_up = {c: 0.0 for c in cats}  # where the next stacked part starts, per category
    base_down = {c: 0.0 for c in cats}
    for si, (name, pts) in enumerate(series):
        color = PALETTE[si % len(PALETTE)]
        out.append(f'<g class="series" aria-label={quoteattr(name)}>')
        if kind == "bar":
            bw = band * 0.8
            for i, c in enumerate(cats):
                if c not in pts:
                    continue
                v = pts[c]
                x0 = left + band * i + band * 0.1
                if stacked and v >= 0:
                    start, base_up[c] = base_up[c], base_up[c] + v
                    y0, y1 = ypos(start + v), ypos(start)
                elif stacked:
                    start, base_down[c] = base_down[c], base_down[c] + v
                    y0, y1 = ypos(start), ypos(start + v)
                else:
                    y0, y1 = ypos(max(v, 0)), ypos(min(v, 0))
                out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{bw:.1f}" '
                           f'height="{max(y1 - y0, 0.5):.1f}" fill="{color}">'
                           f'<title>{escape(f"{name}, {label_of(c)}: {_fmt(v)}")}</title></rect>')
        else:
            pts_xy = [(left + band * (i + 0.5), ypos(pts[c]), c) for i, c in enumerate(cats)
                      if c in pts]
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts_xy)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                       f'stroke-width="2"/>')
            for x, y, c in pts_xy:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                           f'<title>{escape(f"{name}, {label_of(c)}: {_fmt(pts[c])}")}</title>'
                           f'</circle>')
        out.append("</g>")
    if right > 24:
        out += _legend([name for name, _ in series], width - right + 16)
    out.append("</svg>")
    return "\n".join(out)


def _text_width(text: str, size: int = 12) -> float:
    """About how wide `text` is drawn at `size` px (CJK characters are square)."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def _fit(text: str, room: float) -> str:
    """`text` cut (with …) to about `room` px."""
    if _text_width(text) <= room:
        return text
    while text and _text_width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def _legend_width(names: list[str]) -> int:
    return int(min(230, max([_text_width(_short(n, 32)) for n in names[:16]] + [40])) + 40)


def _legend(names: list[str], x: float | None = None, top: float | None = None) -> list[str]:
    x = WIDTH - MARGIN["right"] + 16 if x is None else x
    top = MARGIN["top"] if top is None else top
    out = ['<g class="legend">']
    for i, name in enumerate(names[:16]):
        y = top + i * 20
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" '
                   f'fill="{PALETTE[i % len(PALETTE)]}" aria-hidden="true"/>'
                   f'<text x="{x + 18}" y="{y + 10}">{escape(_fit(name, 210))}</text>')
    out.append("</g>")
    return out


def _pie(title: str, result, x: str, y: str, labels, width: int = WIDTH, height: int = HEIGHT) -> str:
    idx = {n: i for i, n in enumerate(result.column_names())}
    parts = [(_fmt(r[idx[x]]), _num(r[idx[y]]), r[idx[y]]) for r in result.rows]
    parts = [p for p in parts if p[1] > 0]
    total = sum(p[1] for p in parts) or 1.0
    desc = f"Pie chart of {labels[y]} by {labels[x]}: " + "; ".join(
        f"{name} {v / total:.0%}" for name, v, _ in parts[:12]) + "."
    out = _open(title, desc, width, height)
    legend = [f"{name} ({v / total:.0%})" for name, v, _ in parts]
    lw = _legend_width(legend)
    r = max(40, min((width - lw - 80) / 2, (height - 100) / 2))
    # the pie and its legend side by side, together in the middle (not at the two edges)
    left = max(20.0, (width - (2 * r + 40 + lw)) / 2)
    cx, cy = left + r, height / 2 + 8
    angle = -math.pi / 2
    for i, (name, v, raw) in enumerate(parts):
        color = PALETTE[i % len(PALETTE)]
        tip = escape(f"{name}: {_fmt(raw)} ({v / total:.1%})")
        if len(parts) == 1:
            out.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{color}"><title>{tip}</title>'
                       f'</circle>')
            break
        end = angle + 2 * math.pi * v / total
        large = 1 if end - angle > math.pi else 0
        x0, y0 = cx + r * math.cos(angle), cy + r * math.sin(angle)
        x1, y1 = cx + r * math.cos(end), cy + r * math.sin(end)
        out.append(f'<path d="M{cx},{cy} L{x0:.2f},{y0:.2f} A{r},{r} 0 {large} 1 {x1:.2f},'
                   f'{y1:.2f} Z" fill="{color}" stroke="#fff"><title>{tip}</title></path>')
        angle = end
    out.append(f'<text class="x-label" x="{cx}" y="{height - 12}" text-anchor="middle" '
               f'font-weight="bold">{escape(labels[y])}</text>')
    out += _legend(legend, cx + r + 40, max(MARGIN["top"], cy - min(len(legend), 16) * 10))
    out.append("</svg>")
    return "\n".join(out)


def _table(title: str, result) -> str:
    cols = result.columns
    rows = result.rows[:MAX_TABLE_ROWS]
    col_w = 120
    width = max(WIDTH, 20 + col_w * len(cols))
    height = 60 + 22 * (len(rows) + 1) + (20 if len(result.rows) > len(rows) else 0)
    desc = f"Table with {len(cols)} columns and {len(result.rows)} rows."
    out = _open(title, desc, width, height)
    out.append('<g class="table">')
    y = 56
    for i, c in enumerate(cols):
        out.append(f'<text x="{10 + col_w * i}" y="{y}" font-weight="bold">'
                   f'{escape(_short(c.label, 16))}</text>')
    for r in rows:
        y += 22
        for i, v in enumerate(r):
            anchor = ' text-anchor="end"' if isinstance(v, (int, float, Decimal)) else ""
            x = 10 + col_w * i + (col_w - 12 if anchor else 0)
            out.append(f'<text x="{x}" y="{y}"{anchor}>{escape(_short(_fmt(v), 16))}</text>')
    if len(result.rows) > len(rows):
        out.append(f'<text x="10" y="{y + 22}" font-style="italic">… '
                   f'{len(result.rows) - len(rows)} more rows</text>')
    out.append("</g></svg>")
    return "\n".join(out)


def _short(text: str, n: int = 14) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
