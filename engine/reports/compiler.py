"""A report definition compiled to one SQL statement over the typed tables.

Grouped reports are built in two layers inside that one statement:

    SELECT r.g0 AS month, r.g1 AS region, count(*) AS claims, sum(r.m1) AS amount
    FROM (SELECT <group exprs> AS g0.., <measure inputs> AS m0..
          FROM t_expense_claim JOIN ... WHERE filter AND where AND <row permissions>) AS r
    GROUP BY r.g0, r.g1 HAVING ... ORDER BY ... LIMIT ...

Why the inner layer: a group expression may hold bound parameters (a report
param, `total > 1000`), and PostgreSQL cannot match `$1` in the select list
with `$2` in GROUP BY; grouping by the inner columns sidesteps that, and both
SQLite and PostgreSQL flatten the subquery (same plan as the hand-written
join, see bench/report_bench.py). Computed measures and `having` compile
against the outer layer's terms (`OutputScope`), so `amount / claims` is a
ratio of two SQL aggregates, not a Python loop.

Reports without group_by (and without measures) list rows: `columns`
selected from the source, ordered and limited in SQL.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import sqlalchemy as sa

from ..definitions import model as m
from ..errors import ExpressionError
from ..expr import Env, SqlTerm, parse
from ..expr import sql as S
from ..expr import types as T
from ..store.sqlscope import RecordScope, _bound, _form_types
from .params import ParamSet


@dataclass(frozen=True)
class OutputColumn:
    """One column of a report's result: name, heading, type and how to read it back."""

    name: str
    label: m.Label
    term: SqlTerm  # type and scale of the fetched value (to_python)
    role: str  # "group" | "measure" | "column"

    @property
    def type(self) -> T.Type:
        return self.term.type

    def heading(self, language: str | None = None) -> str:
        return self.label.get(language) or self.name


@dataclass
class Query:
    """A built statement and its output columns, in select-list order."""

    statement: sa.Select
    columns: list[OutputColumn]


class OutputScope:
    """Names of the grouped layer: output columns and params (for computed measures, having)."""

    def __init__(self, row_scope: RecordScope, terms: Mapping[str, SqlTerm],
                 params: Mapping[str, tuple[Any, T.Type]], field_types):
        self.row_scope = row_scope
        self.dialect = row_scope.dialect
        self.terms = dict(terms)
        self.params = params
        self.field_types = field_types
        names = {k: v.type for k, v in self.terms.items()}
        for name, (_, typ) in params.items():
            names.setdefault(name, typ)
        names["user"] = T.t(T.USER)
        self.env = Env(names=names, forms=row_scope.env.forms)

    def column(self, path: tuple[str, ...]) -> SqlTerm:
        head = path[0]
        if head in self.terms and len(path) == 1:
            return self.terms[head]
        if head in self.params and len(path) == 1:
            value, typ = self.params[head]
            return _bound(head, value, typ, self.field_types)
        if head == "user":
            return self.row_scope._user_term(path[1:])
        raise ExpressionError(f"{'.'.join(path)} is not an output column of this report")

    def aggregate(self, table_path, build, agg):
        raise ExpressionError("aggregates over line items belong in a measure's expr")

    def has_role(self, role: str) -> bool:
        return self.row_scope.has_role(role)

    def today(self):
        return self.row_scope.today()

    def now(self):
        return self.row_scope.now()


class CompiledReport:
    """One report's definition, checked once; `build()` makes the statement per run.

    The statement depends on the reader (row permissions, `user.*`) and on
    the parameter values (bound), so it is assembled per call; everything
    that can be decided from the definition alone is decided here.
    """

    def __init__(self, spec: m.ReportSpec, defs, registries, typed):
        self.spec = spec
        self.defs = defs
        self.registries = registries
        self.typed = typed
        forms = _form_types(typed, registries.field_types)
        self.params = ParamSet(spec.params, registries, forms)
        self.form = defs.forms[spec.source] if spec.source else None
        self.grouped = bool(spec.group_by or spec.measures)
        self.columns = spec.columns or (() if self.grouped else self._default_columns())

    def _default_columns(self) -> tuple[m.Column, ...]:
        """All typed fields of the source (the number first) when `columns` is not given."""
        fields = self.form.field(self.spec.lines).fields if self.spec.lines else self.form.fields
        names = [] if self.spec.lines or not self.form.number else ["number"]
        if self.spec.lines:
            names.append("number") if self.form.number else names.append("id")
        names += [f.name for f in fields if not f.is_table
                  and self.registries.field_types[f.type].typed]
        return tuple(m.Column(name=n, expr=parse(n), label=self._field_label(n)) for n in names)

    def _field_label(self, name: str) -> m.Label:
        fields = self.form.field(self.spec.lines).fields if self.spec.lines else self.form.fields
        for f in fields:
            if f.name == name:
                return f.label
        return m.Label.of(None, name.replace("_", " ").capitalize())

    # --- building -------------------------------------------------------------

    def scope(self, *, dialect: str, user, params, clock) -> RecordScope:
        return RecordScope(self.typed, self.registries.field_types, self.spec.source,
                           dialect=dialect, user=user, params=params, clock=clock,
                           lines=self.spec.lines)

    def build(self, *, dialect: str, user, params: Mapping[str, tuple[Any, T.Type]], clock,
              visibility: Callable[[RecordScope], Any] | None = None,
              link_rule: Callable | None = None) -> Query:
        """The one SELECT answering this report for `user` with resolved `params`.

        `link_rule`: the reader's rule for link hops (RecordReader.link_rule). An
        expression that takes a parameter follows links under it, so a reader's
        values cannot probe linked records they may not read; the author's fixed
        expressions show what the author chose to show.
        """
        spec, functions = self.spec, self.registries.functions
        scope = self.scope(dialect=dialect, user=user, params=params, clock=clock)
        guarded = scope.view(link_rule)
        names = set(self.params.names())

        def scope_for(expr):
            return guarded if any(p[0] in names for p in expr.paths()) else scope

        conds = []
        for e in (spec.filter, spec.where):
            if e is not None:
                conds.append(S.where_form(S.truth(e.compile_sql(scope_for(e), functions))))
        if visibility is not None:
            # row permissions are the parent record's when the rows are line items
            pred = visibility(scope.parent if spec.lines else scope)
            if pred is not None:
                conds.append(pred)
        if self.grouped:
            return self._grouped(scope, scope_for, conds, params, dialect)
        return self._listing(scope, scope_for, conds)

    def _listing(self, scope: RecordScope, scope_for: Callable, conds: list) -> Query:
        functions = self.registries.functions
        cols, labels = [], {}
        for c in self.columns:
            term = c.expr.compile_sql(scope_for(c.expr), functions)
            label = term.expr.label(c.name)
            labels[c.name] = label
            cols.append(OutputColumn(c.name, c.label, term, "column"))
        q = sa.select(*labels.values()).select_from(scope.from_clause())
        for c in conds:
            q = q.where(c)
        order = self._order(labels)
        base = scope.base
        order += [base.c._record_id, base.c._position] if self.spec.lines else [base.c._id]
        q = q.order_by(*order)
        if self.spec.limit:
            q = q.limit(self.spec.limit)
        return Query(q, cols)

    def _grouped(self, scope: RecordScope, scope_for: Callable, conds: list, params,
                 dialect: str) -> Query:
        spec, functions = self.spec, self.registries.functions
        inner_cols, group_terms, measure_inputs = [], [], {}
        for i, g in enumerate(spec.group_by):
            term = g.expr.compile_sql(scope_for(g.expr), functions)
            inner_cols.append(term.expr.label(f"g{i}"))
            group_terms.append(term)
        for j, ms in enumerate(spec.measures):
            if ms.agg is not None and ms.expr is not None:
                term = ms.expr.compile_sql(scope_for(ms.expr), functions)
                inner_cols.append(term.expr.label(f"m{j}"))
                measure_inputs[j] = term
        if not inner_cols:
            inner_cols.append(sa.literal_column("1").label("one"))
        inner = sa.select(*inner_cols).select_from(scope.from_clause())
        for c in conds:
            inner = inner.where(c)
        rows = inner.subquery("rows")

        terms: dict[str, SqlTerm] = {}
        out: list[OutputColumn] = []
        for i, g in enumerate(spec.group_by):
            t = group_terms[i]
            terms[g.name] = SqlTerm(rows.c[f"g{i}"], t.type, t.scale)
            out.append(OutputColumn(g.name, g.label, terms[g.name], "group"))
        for j, ms in enumerate(spec.measures):
            if ms.agg is None:
                oscope = OutputScope(scope, terms, params, self.registries.field_types)
                term = ms.expr.compile_sql(oscope, functions)
            else:
                term = _aggregate(ms.agg, measure_inputs.get(j), rows.c.get(f"m{j}"), dialect)
            terms[ms.name] = term
            out.append(OutputColumn(ms.name, ms.label, term, "measure"))

        labels = {c.name: c.term.expr.label(c.name) for c in out}
        q = sa.select(*labels.values()).select_from(rows)
        if spec.group_by:
            q = q.group_by(*[rows.c[f"g{i}"] for i in range(len(spec.group_by))])
        if spec.having is not None:
            oscope = OutputScope(scope, terms, params, self.registries.field_types)
            q = q.having(S.truth(spec.having.compile_sql(oscope, functions)))
        named = {n for n, _ in spec.order_by}
        order = self._order(labels)
        order += [labels[g.name].asc().nulls_first() for g in spec.group_by if g.name not in named]
        if order:
            q = q.order_by(*order)
        if spec.limit:
            q = q.limit(spec.limit)
        return Query(q, out)

    def _order(self, labels: Mapping[str, Any]) -> list:
        """order_by names output columns; NULLs sort as the smallest value on both dialects."""
        out = []
        for name, desc in self.spec.order_by:
            label = labels.get(name)
            if label is None:
                raise ExpressionError(f"order_by: {name!r} is not an output column of report "
                                      f"{self.spec.id!r}")
            out.append(label.desc().nulls_last() if desc else label.asc().nulls_first())
        return out


def _aggregate(agg: str, inner: SqlTerm | None, col, dialect: str) -> SqlTerm:
    """A measure's aggregate over the inner layer's column `col` (typed like `inner`)."""
    if agg == "count":
        return SqlTerm(sa.func.count() if col is None else sa.func.count(col), T.t(T.INTEGER), 0)
    if agg == "count_distinct":
        return SqlTerm(sa.func.count(sa.distinct(col)), T.t(T.INTEGER), 0)
    if agg == "sum":
        return SqlTerm(sa.func.sum(col, type_=col.type), inner.type, inner.scale)
    if agg in ("min", "max"):
        return SqlTerm(getattr(sa.func, agg)(col, type_=col.type), inner.type, inner.scale)
    if agg == "avg":
        x = S.approx(SqlTerm(col, inner.type, inner.scale), dialect)
        typ = inner.type if inner.type.kind in (T.MONEY, T.PERCENT) else T.t(T.DECIMAL)
        return SqlTerm(sa.func.avg(x.expr, type_=S.approx_type(dialect)), typ, None)
    raise ExpressionError(f"unknown aggregate {agg!r}")
