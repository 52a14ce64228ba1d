"""The SQL side of expression names: fields become typed-table columns.

A `RecordScope` resolves bare names to the columns of one form's typed table
and dotted paths through link fields to LEFT OUTER JOINs (one per distinct
path prefix, reused); line-item aggregates become correlated subqueries.
Parameters and the acting user's attributes become bound parameters: no
value ever reaches SQL text.

A scope may carry a `link_rule`: the caller's read rule for link hops. Each hop
asks it `rule(path, target_form, probe)`; it refuses (raises) a hop the caller
may not take at all, or answers a predicate over `probe` (a fresh scope of the
target form) naming the target rows the caller may read, and the JOIN then
matches only those (a hidden record behaves as no record); None joins all.
`view(rule)` is the same FROM clause seen under another rule (the rows rule of
the form itself is written by the app author and sees every linked record).
"""
from __future__ import annotations

from datetime import date, datetime
import copy
from typing import Any, Callable, Mapping

import sqlalchemy as sa

from ..errors import ExpressionError
from ..expr import Env, SqlTerm
from ..expr.sql import apply_aggregate
from ..expr import types as T
from ..fields import expr_type_of
from .typed import TypedStore

_SYSTEM = {
    "id": ("_id", T.t(T.INTEGER)), "number": ("_number", T.t(T.TEXT)),
    "state": ("_state", T.t(T.TEXT)), "owner": ("_owner", T.t(T.USER)),
    "created_at": ("_created_at", T.t(T.DATETIME)), "updated_at": ("_updated_at", T.t(T.DATETIME)),
}


class RecordScope:
    """Names of one form (or of one line-item table, with its parent reachable)."""

    def __init__(self, typed: TypedStore, field_types, form_id: str, *, dialect: str,
                 user=None, params: Mapping[str, tuple[Any, T.Type]] | None = None,
                 clock=None, lines: str | None = None, alias: sa.FromClause | None = None,
                 parent: "RecordScope | None" = None, link_rule: Callable | None = None,
                 path: tuple[str, ...] = ()):
        self.typed = typed
        self.link_rule = link_rule
        self.path = path  # the link names that led here (for messages)
        self.field_types = field_types
        self.form_id = form_id
        self.dialect = dialect
        self.user = user
        self.params = dict(params or {})
        self.clock = clock
        self.lines = lines
        tf = typed[form_id]
        self.form = tf.form
        if lines:
            table, _ = tf.lines[lines]
            self.base = alias if alias is not None else table.alias(f"l_{lines}")
            self.table_field = self.form.field(lines)
            # the line's parent record, reachable through its own (bare) names
            # the line's parent record: joined (a line-item report) or, when given, the
            # outer record a correlated line aggregate belongs to
            self._join_parent = parent is None
            self.parent = parent or RecordScope(typed, field_types, form_id, dialect=dialect,
                                                user=user, params=params, clock=clock,
                                                link_rule=link_rule)
            self._joins: list = []
        else:
            self._join_parent = False
            self.base = alias if alias is not None else tf.table.alias(f"r_{form_id}")
            self.table_field = None
            self.parent = parent
            self._joins = []
        self._aliases: dict[tuple, RecordScope] = {}
        self._env = None

    @property
    def env(self):
        """The names an expression over this scope's rows sees (for the SQL compiler's checks)."""
        if self._env is None:
            forms = _form_types(self.typed, self.field_types)
            names = dict(forms[self.form_id])
            if self.lines is not None:
                names.update(expr_type_of(self.table_field, self.field_types).item.field_map())
                names["position"] = T.t(T.INTEGER)
                names["parent"] = T.link(self.form_id)
            names["user"] = T.t(T.USER)
            for name, (_, typ) in self.params.items():
                names.setdefault(name, typ)
            self._env = Env(names=names, forms=forms)
        return self._env

    # --- protocol used by the SQL compiler ---------------------------------

    def today(self) -> date:
        return self.clock.today() if self.clock else date.today()

    def now(self) -> datetime:
        return self.clock.now() if self.clock else datetime.utcnow()

    def has_role(self, role: str) -> bool:
        return bool(self.user is not None and role in self.user.roles)

    def column(self, path: tuple[str, ...]) -> SqlTerm:
        head = path[0]
        if head == "user" and (self.lines is None or self.table_field.field("user") is None) \
                and self.form.field("user") is None:
            return self._user_term(path[1:])
        if head in self.params and self.form.field(head) is None:
            value, typ = self.params[head]
            if len(path) > 1:
                raise ExpressionError(f"parameter {head!r} has no attributes")
            return _bound(head, value, typ, self.field_types)
        term, field = self._own(head)
        if term is None and self.lines is not None:
            if head == "parent":
                return self.parent.column(path[1:] or ("id",))
            return self.parent.column(path)
        if term is None:
            raise ExpressionError(f"unknown name {head!r}")
        if len(path) == 1:
            return term
        line = self.field_types[field.type].line_target(field) if field is not None else None
        if line is not None:
            return self._line_column(head, field, line, path[1:])
        if field is None or self.field_types[field.type].link_form(field) is None:
            raise ExpressionError(f"{head!r} is not a link; it has no field {path[1]!r}")
        return self._linked(head, field).column(path[1:])

    def aggregate(self, table_path: tuple[str, ...], build: Callable[["RecordScope"], SqlTerm | None],
                  agg: str) -> SqlTerm:
        if self.lines is not None and table_path[0] != "parent":
            return self.parent.aggregate(table_path, build, agg)
        if self.lines is not None:
            return self.parent.aggregate(table_path[1:], build, agg)
        if len(table_path) != 1:
            raise ExpressionError("aggregates over line items take a table field of this form")
        field = self.form.field(table_path[0])
        if field is None or not field.is_table:
            raise ExpressionError(f"{table_path[0]!r} is not a table of {self.form_id}")
        table, _ = self.typed[self.form_id].lines[field.name]
        inner_alias = table.alias()
        inner = RecordScope(self.typed, self.field_types, self.form_id, dialect=self.dialect,
                            user=self.user, params=self.params, clock=self.clock, lines=field.name,
                            alias=inner_alias, parent=self, link_rule=self.link_rule, path=self.path)
        term = apply_aggregate(agg, build(inner), self.dialect)
        sub = sa.select(term.expr).select_from(inner.from_clause()) \
            .where(inner_alias.c._record_id == self.base.c._id)
        expr = sub.scalar_subquery()
        if agg in ("sum", "count"):
            expr = sa.func.coalesce(expr, 0)  # no lines at all: the subquery gives no row
        return SqlTerm(expr, term.type, term.scale)

    def view(self, link_rule: Callable | None) -> "RecordScope":
        """This scope with link hops under `link_rule`: same base table, same FROM clause
        (joins made through either view land in it), hops under each rule joined apart."""
        if link_rule is self.link_rule:
            return self
        other = copy.copy(self)  # shares base, _joins and _aliases
        other.link_rule = link_rule
        if self.parent is not None:
            other.parent = self.parent.view(link_rule)
        return other

    # --- building the FROM clause ------------------------------------------

    def from_clause(self) -> sa.FromClause:
        """The base table with every JOIN the compiled expressions needed."""
        clause = self.base
        if self._join_parent:
            parent = self.parent.base
            clause = clause.join(parent, parent.c._id == self.base.c._record_id)
            for target, on in self.parent.all_joins():
                clause = clause.outerjoin(target, on)
        for target, on in self.all_joins():
            clause = clause.outerjoin(target, on)
        return clause

    def all_joins(self) -> list:
        """Link hops from this scope's base, each after the hop it starts from."""
        out = list(self._joins)
        for scope in self._aliases.values():
            out.extend(scope.all_joins())
        return out

    # --- internals ----------------------------------------------------------

    def _own(self, name: str):
        fields = self.table_field.fields if self.lines else self.form.fields
        for f in fields:
            if f.name == name:
                if f.is_table:
                    raise ExpressionError(f"{name!r} is a table; aggregate it, e.g. sum({name}.field)")
                ft = self.field_types[f.type]
                if not ft.typed:
                    raise ExpressionError(f"the {f.type} field {name!r} cannot be used in SQL")
                return SqlTerm(self.base.c[name], expr_type_of(f, self.field_types), ft.scale(f)), f
        if self.lines:
            if name == "position":
                return SqlTerm(self.base.c._position, T.t(T.INTEGER), 0), None
            return None, None
        if name in _SYSTEM:
            col, typ = _SYSTEM[name]
            return SqlTerm(self.base.c[col], typ, 0), None
        return None, None

    def _linked(self, name: str, field) -> "RecordScope":
        rule = self.link_rule
        key = (name, rule)
        scope = self._aliases.get(key)
        if scope is None:
            path = self.path + (name,)
            target = self.typed[field.to].table.alias()
            on = target.c._id == self.base.c[name]
            if rule is not None:
                probe = RecordScope(self.typed, self.field_types, field.to, dialect=self.dialect,
                                    user=self.user, clock=self.clock)
                readable = rule(".".join(path), field.to, probe)
                if readable is not None:
                    # a subquery, not ON terms: the rule may hop itself, and its joins
                    # must not reach into this FROM clause
                    on = sa.and_(on, target.c._id.in_(
                        sa.select(probe.base.c._id).select_from(probe.from_clause())
                        .where(readable)))
            scope = RecordScope(self.typed, self.field_types, field.to, dialect=self.dialect,
                                user=self.user, params=self.params, clock=self.clock, alias=target,
                                link_rule=rule, path=path)
            self._joins.append((target, on))
            self._aliases[key] = scope
        return scope

    def _line_column(self, name: str, field, line: str, rest: tuple[str, ...]) -> SqlTerm:
        """A hop through a link to a line (`to: FORM.TABLE`): `item.qty` is a column of the
        joined line table, `item.id` its `line_id`, `item.record.x` a field of its record
        (joined too). The caller's read rule applies to that record, as for any link hop."""
        form_id, _, table = line.partition(".")
        key = (name, "line", self.link_rule)
        scopes = self._aliases.get(key)
        if scopes is None:
            path = self.path + (name,)
            ltable = self.typed[form_id].lines[table][0].alias()
            parent_alias = self.typed[form_id].table.alias()
            on = ltable.c.line_id == self.base.c[name]
            if self.link_rule is not None:
                probe = RecordScope(self.typed, self.field_types, form_id, dialect=self.dialect,
                                    user=self.user, clock=self.clock)
                readable = self.link_rule(".".join(path), form_id, probe)
                if readable is not None:
                    on = sa.and_(on, ltable.c._record_id.in_(
                        sa.select(probe.base.c._id).select_from(probe.from_clause())
                        .where(readable)))
            parent = RecordScope(self.typed, self.field_types, form_id, dialect=self.dialect,
                                 user=self.user, params=self.params, clock=self.clock,
                                 alias=parent_alias, link_rule=self.link_rule, path=path)
            scope = RecordScope(self.typed, self.field_types, form_id, dialect=self.dialect,
                                user=self.user, params=self.params, clock=self.clock, lines=table,
                                alias=ltable, parent=parent, link_rule=self.link_rule, path=path)
            self._joins.append((ltable, on))
            self._joins.append((parent_alias, parent_alias.c._id == ltable.c._record_id))
            scopes = self._aliases[key] = _LineHop(scope, parent)
        if rest[0] == "record":
            return scopes.parent.column(rest[1:] or ("id",))
        if rest[0] == "id" and len(rest) == 1:
            return SqlTerm(scopes.line.base.c.line_id, T.t(T.TEXT), 0)
        return scopes.line.column(rest)

    def _user_term(self, rest: tuple[str, ...]) -> SqlTerm:
        user = self.user
        attr = rest[0] if rest else "name"
        if len(rest) > 1:
            raise ExpressionError("user attributes are one level deep: user.name, user.email, ...")
        if attr not in T.USER_ATTRIBUTES:
            raise ExpressionError(f"users have no attribute {attr!r}")
        value = getattr(user, attr, None) if user is not None else None
        typ = T.USER_ATTRIBUTES[attr] if rest else T.t(T.USER)
        if attr == "roles":
            value = sorted(value or ())
        return SqlTerm(sa.bindparam(None, value, type_=_sql_type_for(typ) if attr != "roles" else None,
                                    unique=True, expanding=attr == "roles"), typ, 0)


class _LineHop:
    """The two scopes a link to a line joins: the line's row and the record it belongs to."""

    __slots__ = ("line", "parent")

    def __init__(self, line: RecordScope, parent: RecordScope):
        self.line, self.parent = line, parent

    def all_joins(self) -> list:
        return self.line.all_joins() + self.parent.all_joins()


def _form_types(typed: TypedStore, field_types) -> dict:
    """Field name → expression type per form, cached on the TypedStore (built once per load)."""
    cached = getattr(typed, "_expr_types", None)
    if cached is None:
        cached = {}
        for fid, tf in typed.forms.items():
            names = {name: typ for name, (_, typ) in _SYSTEM.items()}
            for f in tf.form.fields:
                names[f.name] = expr_type_of(f, field_types)
            cached[fid] = names
        for fid in typed.forms:
            cached.update(T.line_types(fid, cached[fid]))
        typed._expr_types = cached
    return cached


def _sql_type_for(typ: T.Type):
    return {T.INTEGER: sa.BigInteger(), T.BOOLEAN: sa.Boolean(), T.DATE: sa.Date(),
            T.DATETIME: sa.DateTime()}.get(typ.kind, sa.Text())


def _bound(name: str, value: Any, typ: T.Type, field_types) -> SqlTerm:
    """A report parameter as a bound value in typed-table representation."""
    if typ.kind in T.DECIMALS:
        ft = field_types[typ.kind]
        scale = ft.default_scale
        return SqlTerm(sa.bindparam(None, None if value is None else int(value.scaleb(scale)),
                                    type_=sa.BigInteger(), unique=True), typ, scale)
    if typ.kind == T.LIST:
        return SqlTerm(sa.bindparam(None, list(value or []), expanding=True, unique=True), typ, 0)
    return SqlTerm(sa.bindparam(None, value, type_=_sql_type_for(typ), unique=True), typ, 0)
