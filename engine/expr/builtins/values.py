"""Values and the acting user: coalesce, has_role."""
from __future__ import annotations

import sqlalchemy as sa

from ...errors import ExpressionError
from .. import sqlterms as S
from .. import types as T
from ..sqlterms import SqlTerm
from .rules import BOOL, arity, expect, unify_all


def rule_coalesce(args):
    if not args:
        raise ExpressionError("takes at least 1 argument")
    return unify_all(args, "cannot mix {} and {}")


def rule_has_role(args):
    arity(args, 1)
    expect(args[0], (T.TEXT,), "a role name")
    return BOOL


def py_coalesce(*args):
    return next((a for a in args if a is not None), None)


def py_has_role(ctx, role):
    user = ctx.user
    return user is not None and role in (getattr(user, "roles", None) or ())


def sql_has_role(args, scope):
    role = args[0].expr
    if not isinstance(role, sa.sql.elements.BindParameter):
        raise ExpressionError("in SQL the role must be a literal, like has_role('finance')")
    return S.bind(bool(scope.has_role(role.value)), BOOL)


def sql_coalesce(args, scope):
    terms = [a for a in args if not S.is_null(a)]
    if not terms:
        return S.null(T.t(T.NULL))
    if all(t.type.is_numeric for t in terms):
        terms = S.align(terms, scope.dialect)
    e = terms[0].expr if len(terms) == 1 else sa.func.coalesce(*[t.expr for t in terms])
    return SqlTerm(e, terms[0].type, terms[0].scale)
