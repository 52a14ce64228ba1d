"""Text: len, upper, lower, contains."""
from __future__ import annotations

import sqlalchemy as sa

from .. import sqlterms as S
from .. import types as T
from ..sqlterms import SqlTerm
from .rules import BOOL, INT, TEXT, arity, expect, one_argument


def rule_len(args):
    arity(args, 1)
    expect(args[0], (T.TEXT, T.USER, T.LIST, T.TABLE), "text or a list")
    return INT


rule_text = one_argument((T.TEXT, T.USER), "text", TEXT)


def rule_contains(args):
    arity(args, 2)
    expect(args[0], (T.TEXT, T.USER), "text")
    expect(args[1], (T.TEXT, T.USER), "text", 1)
    return BOOL


def py_len(x):
    return None if x is None else len(x)


def py_upper(s):
    return None if s is None else s.upper()


def py_lower(s):
    return None if s is None else s.lower()


def py_contains(text, part):
    return text is not None and part is not None and part in text


def sql_len(args, scope):
    return SqlTerm(sa.func.length(args[0].expr, type_=sa.BigInteger), INT, 0)


def sql_text_fn(name: str):
    def build(args, scope):
        # SQLite's upper/lower only change ASCII letters; PostgreSQL's follow the collation
        return SqlTerm(getattr(sa.func, name)(args[0].expr, type_=sa.Text), TEXT, 0)
    return build


def sql_contains(args, scope):
    text, part = args
    if S.is_null(text) or S.is_null(part):
        return SqlTerm(sa.false(), BOOL, 0)
    pos = S.position(text.expr, part.expr, scope.dialect)
    return SqlTerm(S.never_null(pos > S.const(0)), BOOL, 0)
