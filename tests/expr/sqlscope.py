"""A small SqlScope over hand-made typed tables, for the agreement tests.

Scaled BIGINT decimals, Date/DateTime, Text, Integer, Boolean; a customer
link (several hops: customer.parent.region), a product link from the lines,
and a lines table aggregated through correlated subqueries.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from engine.errors import ExpressionError
from engine.expr import SqlTerm, apply_aggregate
from engine.expr import types as T
from engine.expr.sql import DEFAULT_SCALES, bind

from .conftest import FORMS, LINE, order_env


def make_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    money = sa.BigInteger  # scaled by 10**2
    dec = sa.BigInteger  # scaled by 10**4
    return {
        "customer": sa.Table(
            "customer", metadata, sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.Text), sa.Column("region", sa.Text),
            sa.Column("credit_limit", money), sa.Column("parent", sa.Integer)),
        "product": sa.Table(
            "product", metadata, sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.Text), sa.Column("stock_qty", sa.Integer)),
        "sales_order": sa.Table(
            "sales_order", metadata, sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("number", sa.Text), sa.Column("owner", sa.Text), sa.Column("state", sa.Text),
            sa.Column("customer", sa.Integer), sa.Column("order_date", sa.Date),
            sa.Column("due_date", sa.Date), sa.Column("total", money),
            sa.Column("discount", dec), sa.Column("rate", dec), sa.Column("qty", sa.Integer),
            sa.Column("note", sa.Text), sa.Column("urgent", sa.Boolean),
            sa.Column("channel", sa.Text), sa.Column("created_at", sa.DateTime)),
        "lines": sa.Table(
            "order_line", metadata, sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("order_id", sa.Integer), sa.Column("qty", sa.Integer),
            sa.Column("price", money), sa.Column("amount", money),
            sa.Column("product", sa.Integer)),
    }


def stored(value, t: T.Type):
    """A Python value as the typed table stores it (scaled integers for decimals)."""
    if value is not None and t.kind in T.DECIMALS:
        return int(value.scaleb(DEFAULT_SCALES[t.kind]))
    return value


@dataclass
class User:
    name: str
    email: str = ""
    language: str = "en"
    manager: str | None = None
    roles: tuple = ()


class TestScope:
    """Names of one table; links become correlated scalar subqueries."""

    __test__ = False

    def __init__(self, dialect: str, tables: dict, *, user: User, now: datetime,
                 form: str = "sales_order", table: sa.FromClause | None = None, env=None):
        self.dialect = dialect
        self.tables = tables
        self.user = user
        self._now = now
        self.form = form
        self.table = table if table is not None else tables[form]
        self.env = env or order_env()

    def today(self) -> date:
        return self._now.date()

    def now(self) -> datetime:
        return self._now

    def has_role(self, role: str) -> bool:
        return role in self.user.roles

    def column(self, path: tuple[str, ...]) -> SqlTerm:
        head = path[0]
        if head == "user" and self.form == "sales_order":
            if len(path) == 1:
                return bind(self.user.name, T.t(T.USER))
            attr = T.USER_ATTRIBUTES[path[1]]
            if len(path) > 2 or attr.kind == T.LIST:
                raise ExpressionError(f"user.{path[1]} is not available in SQL")
            return bind(getattr(self.user, path[1]), attr)
        t = self.env.names[head]
        col = self.table.c[head]
        if len(path) == 1:
            return SqlTerm(col, t, DEFAULT_SCALES.get(t.kind, 0))
        if t.kind != T.LINK:
            raise ExpressionError(f"{head} cannot be followed in SQL")
        target = self.tables[t.form].alias()
        inner = TestScope(self.dialect, self.tables, user=self.user, now=self._now,
                          form=t.form, table=target, env=_form_env(t.form)).column(path[1:])
        sub = sa.select(inner.expr).where(target.c.id == col).scalar_subquery()
        return SqlTerm(sub, inner.type, inner.scale)

    def aggregate(self, table_path, build, agg) -> SqlTerm:
        if table_path != ("lines",):
            raise ExpressionError("only lines can be aggregated")
        lines = self.tables["lines"].alias()
        line_scope = TestScope(self.dialect, self.tables, user=self.user, now=self._now,
                               form="lines", table=lines, env=_form_env("lines"))
        term = apply_aggregate(agg, build(line_scope), self.dialect)
        sub = sa.select(term.expr).where(lines.c.order_id == self.table.c.id).scalar_subquery()
        return SqlTerm(sub, term.type, term.scale)


def _form_env(form: str):
    from engine.expr import Env

    return Env(names=LINE if form == "lines" else FORMS[form], forms=FORMS)
