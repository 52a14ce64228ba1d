"""Semantic checks of reports and dashboards.

Names in a report's row expressions (`filter`, `where`, `group_by`,
`columns`, measure `expr`): the source form's fields and the report's params.
For a `form.table` source each row is a line item: bare names are the line's
fields, then the parent record's fields the line does not shadow
(`project.region`, `state`), and `parent` is the parent record. A measure
without `agg` is an expression over the group_by columns, the params and the
measures listed before it; `having` sees every output column and the params.
"""
from __future__ import annotations

from ..expr import types as T
from ..fields import expr_type_of
from . import model as m
from .semantics import (
    E_COLUMN, E_COLUMN_DUP, E_EXPR, E_FIELD_TYPE, E_LINE_ITEMS, E_MEASURE, E_SOURCE, E_TILES,
    Context, names_at, value_at,
)
from .insights import INSIGHT_COLUMNS
from .suggest import suggestion_suffix

_NUMERIC_AGGS = ("sum", "avg")
_NOT_SCALAR = (T.LIST, T.TABLE, T.ROW)


def check(ctx: Context) -> None:
    docs = ctx.docs.get("report", {})
    for rid, doc in docs.items():
        report = ctx.defs.reports.get(rid)
        if report is not None:
            ReportCheck(ctx, report, doc).run()
    check_tile_cycles(ctx, docs)


class ReportCheck:
    def __init__(self, ctx: Context, report, doc):
        self.ctx, self.r, self.doc = ctx, report, doc

    def insight(self) -> None:
        """`insight:` reports: one workflow, fixed columns; chart and order name them."""
        ctx, r, doc = self.ctx, self.r, self.doc
        for key in ("source", "group_by", "measures", "columns", "filter", "where", "having"):
            if getattr(r, key):
                ctx.add(doc, (key,), f"an insight report has fixed columns; {key} does not apply "
                        f"(its columns: {', '.join(INSIGHT_COLUMNS[r.insight])})", E_SOURCE, key=True)
        if r.workflow not in ctx.defs.workflows:
            ctx.add(doc, ("workflow",) if r.workflow else ("insight",),
                    f"insight {r.insight}: unknown workflow {r.workflow!r}"
                    f"{suggestion_suffix(str(r.workflow), list(ctx.defs.workflows))}"
                    if r.workflow else f"insight {r.insight} needs a workflow: <workflow id>",
                    E_SOURCE)
        names = INSIGHT_COLUMNS[r.insight]
        wanted = [("order_by", n) for n, _ in r.order_by]
        if r.chart is not None:
            wanted += [("chart", n) for n in (r.chart.x, *r.chart.y, r.chart.series) if n]
        for key, name in wanted:
            if name not in names:
                ctx.add(doc, (key,), f"{name!r} is not a column of insight {r.insight} "
                        f"({', '.join(names)}){suggestion_suffix(name, names)}", E_COLUMN)

    def run(self) -> None:
        ctx, r, doc = self.ctx, self.r, self.doc
        ctx.check_roles(doc, ("permissions",), owner=False)
        params = self.params()
        if r.tiles:
            self.tiles()
            if r.source:
                ctx.add(doc, ("source",), "a report has either a source or tiles (a dashboard), "
                        "not both", E_SOURCE)
            return
        if r.insight:
            self.insight()
            return
        if not r.source:
            ctx.add(doc, ("report",), "a report needs a source (a form, or form.table for line "
                    "items), an insight, or tiles (a dashboard)", E_SOURCE, key=True)
            return
        if not ctx.check_form_ref(doc, ("source",), r.source, "source form"):
            return
        types = ctx.form_types[r.source]
        if r.lines is not None:
            t = types.get(r.lines)
            if t is None or t.kind != T.TABLE:
                tables = [n for n, x in types.items() if x.kind == T.TABLE]
                what = "has no table" if t is None else f"field {r.lines!r} is {t}, not a table;"
                ctx.add(doc, ("source",), f"source: form {r.source!r} {what} {r.lines!r}"
                        f"{suggestion_suffix(r.lines, tables)}" if t is None else
                        f"source: form {r.source!r} {what} line-item sources name a table",
                        E_SOURCE, offset=len(r.source) + 1)
                return
        env = ctx.env(r.source, r.lines, extra=params)
        for key in ("filter", "where"):
            e = getattr(r, key)
            if e is not None:
                ctx.check_condition(doc, (key,), e, env, key)
        outputs: dict[str, T.Type] = {}
        seen: dict[str, tuple] = {}
        for key in ("group_by", "columns"):
            for i, col in enumerate(getattr(r, key)):
                path = (key, i)
                self.unique(col.name, path, seen)
                t = self.row_expr(path, col, env)
                outputs[col.name] = t if t is not None else T.t(T.ANY)
        self.measures(env, params, outputs, seen)
        if r.having is not None:
            ctx.check_condition(doc, ("having",), r.having,
                                ctx.env(None, extra={**params, **outputs}), "having")
        self.output_names(outputs)

    def params(self) -> dict[str, T.Type]:
        out: dict[str, T.Type] = {}
        base = self.ctx.env(None)
        for i, p in enumerate(self.r.params):
            path = ("params", i)
            if p.type not in self.ctx.field_types or p.type == "table":
                types = [t for t in self.ctx.field_types.names() if t != "table"]
                self.ctx.add(self.doc, path + ("type",), f"unknown param type {p.type!r}"
                             f"{suggestion_suffix(p.type, types)}", E_FIELD_TYPE)
                out[p.name] = T.t(T.ANY)
                continue
            spec = m.FieldSpec(name=p.name, type=p.type, label=p.label, options=p.options)
            out[p.name] = expr_type_of(spec, self.ctx.field_types)
            if p.default is not None:
                self.ctx.check_value(self.doc, path + ("default",), p.default, base, out[p.name],
                                     f"param {p.name!r}")
        return out

    def unique(self, name: str, path: tuple, seen: dict) -> None:
        if name in seen:
            first = self.doc.mark(seen[name] + ("name",))
            self.ctx.add(self.doc, path + ("name",), f"output column {name!r} is already defined "
                         f"at line {first.line}; column names are unique", E_COLUMN_DUP)
        else:
            seen[name] = path

    def row_expr(self, path: tuple, col, env) -> T.Type | None:
        """A group_by or columns entry: one value per source row."""
        doc = self.doc
        epath = path + ("expr",) if value_at(doc, path + ("expr",)) is not None else path + ("name",)
        t = self.ctx.check_expr(doc, epath, col.expr, env)
        if t is not None and t.kind in _NOT_SCALAR:
            if self.r.lines is None and any(
                    self.ctx.form_types[self.r.source].get(p[0], T.t(T.ANY)).kind == T.TABLE
                    for p in col.expr.paths()):
                tables = [n for n, x in self.ctx.form_types[self.r.source].items()
                          if x.kind == T.TABLE]
                self.ctx.add(doc, epath, f"{path[0]} {col.name!r} is over line items ({t}); "
                             f"to group by line items use source: {self.r.source}.{tables[0]}"
                             if tables else f"{path[0]} {col.name!r} is {t}", E_LINE_ITEMS)
            else:
                self.ctx.add(doc, epath, f"{path[0]} {col.name!r} is {t}; a column holds one value "
                             "per row", E_LINE_ITEMS)
            return None
        return t

    def measures(self, env, params: dict, outputs: dict, seen: dict) -> None:
        ctx, doc = self.ctx, self.doc
        names = [c.name for c in self.r.measures]
        for i, c in enumerate(self.r.measures):
            path = ("measures", i)
            self.unique(c.name, path, seen)
            epath = path + ("expr",)
            if c.agg is None:
                later = set(names[i + 1:]) | {c.name}
                if c.expr is None:
                    ctx.add(doc, path + ("name",), f"measure {c.name!r} needs agg (count, sum, "
                            "avg, min, max, count_distinct) or an expr over other measures",
                            E_MEASURE)
                    outputs[c.name] = T.t(T.ANY)
                    continue
                bad = sorted(p[0] for p in c.expr.paths() if p[0] in later)
                if bad:
                    what = "itself" if bad[0] == c.name else f"{bad[0]!r}, which is listed after it"
                    ctx.add(doc, epath, f"measure {c.name!r} uses {what}; a computed measure "
                            "uses the measures listed before it", E_EXPR)
                    outputs[c.name] = T.t(T.ANY)
                    continue
                t = ctx.check_expr(doc, epath, c.expr, ctx.env(None, extra={**params, **outputs}))
                outputs[c.name] = t if t is not None else T.t(T.ANY)
                continue
            if c.expr is None:
                if c.agg in ("count",):
                    outputs[c.name] = T.t(T.INTEGER)
                else:
                    ctx.add(doc, path + ("agg",), f"measure {c.name!r}: {c.agg} needs expr, the "
                            "value to aggregate", E_MEASURE)
                    outputs[c.name] = T.t(T.ANY)
                continue
            t = ctx.check_expr(doc, epath, c.expr, env)
            if t is None:
                outputs[c.name] = T.t(T.ANY)
                continue
            if c.agg in _NUMERIC_AGGS and not (t.is_numeric or t.kind in (T.ANY, T.NULL)):
                text = value_at(doc, epath)
                ctx.add(doc, epath, f"measure {c.name!r}: {c.agg} needs a number, but {text!r} "
                        f"is {t}; use count or count_distinct, or min/max", E_MEASURE)
                outputs[c.name] = T.t(T.ANY)
                continue
            if t.kind in _NOT_SCALAR:
                ctx.add(doc, epath, f"measure {c.name!r}: {c.agg} over {t} needs one value per "
                        "row" + (f"; use source: {self.r.source}.<table> for line items"
                                 if self.r.lines is None else ""), E_LINE_ITEMS)
                outputs[c.name] = T.t(T.ANY)
                continue
            if c.agg in ("count", "count_distinct"):
                outputs[c.name] = T.t(T.INTEGER)
            elif c.agg == "avg":
                outputs[c.name] = t if t.kind in (T.MONEY, T.PERCENT) else T.t(T.DECIMAL)
            else:
                outputs[c.name] = t

    def output_names(self, outputs: dict) -> None:
        ctx, doc = self.ctx, self.doc
        names = list(outputs)
        for p, raw in names_at(doc, ("order_by",)):
            name, offset = (raw[1:], 1) if raw.startswith("-") else (raw, None)
            if name not in outputs:
                ctx.add(doc, p, f"order_by: {name!r} is not an output column (a group_by, "
                        f"columns or measures name){suggestion_suffix(name, names)}", E_COLUMN,
                        offset=offset)
        for key in ("x", "y", "series"):
            for p, name in names_at(doc, ("chart", key)):
                if name not in outputs:
                    ctx.add(doc, p, f"chart {key}: {name!r} is not an output column"
                            f"{suggestion_suffix(name, names)}", E_COLUMN)

    def tiles(self) -> None:
        ctx, doc = self.ctx, self.doc
        reports = ctx.defs.reports
        for p, name in names_at(doc, ("tiles",)):
            if name == self.r.id:
                ctx.add(doc, p, f"dashboard {name!r} lists itself as a tile", E_TILES)
            elif name not in reports:
                ctx.add(doc, p, f"tile {name!r} is not a report"
                        f"{suggestion_suffix(name, [r for r in reports if r != self.r.id])}",
                        E_TILES)


def check_tile_cycles(ctx: Context, docs) -> None:
    """Dashboards showing each other in a ring (a → b → a) never finish rendering."""
    reports = ctx.defs.reports
    edges = {rid: [t for t in r.tiles if t in reports and t != rid]
             for rid, r in reports.items() if r.tiles}
    for rid, doc in docs.items():
        if rid not in edges:
            continue
        for p, tile in names_at(doc, ("tiles",)):
            if tile not in edges or tile == rid:
                continue
            trail = _path_to(tile, rid, edges)
            if trail is not None:
                chain = " → ".join([rid] + trail)
                ctx.add(doc, p, f"dashboards show each other in a cycle: {chain}", E_TILES)


def _path_to(start: str, goal: str, edges: dict) -> list[str] | None:
    stack, seen = [(start, [start])], {start}
    while stack:
        node, trail = stack.pop()
        if node == goal:
            return trail
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, trail + [nxt]))
    return None
