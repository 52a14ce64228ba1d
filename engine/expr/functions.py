"""The function registry: one `Functions` per Engine; plugins register into it.

The built-ins and `default_functions()` live in `builtins/`, above this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..registry import Registry
from .types import Type


@dataclass(frozen=True)
class Function:
    """A callable of the language.

    `python(*args)` (or `python(ctx, *args)` when `uses_context`) evaluates it;
    `type_rule(arg_types)` gives the result type or raises ExpressionError;
    `sql(args, scope)` builds the SQL version from compiled `SqlTerm` args (None:
    not available in SQL). `aggregate` functions also take a table path
    (`sum(lines.amount)`, `count(lines)`) and are compiled through
    `SqlScope.aggregate` with the function's name as the aggregate.
    """

    name: str
    python: Callable[..., Any]
    type_rule: Callable[[list[Type]], Type]
    sql: Callable[[list, Any], Any] | None = None
    aggregate: bool = False
    uses_context: bool = False


class Functions(Registry[Function]):
    """Name → Function, per instance (never a global)."""

    def __init__(self):
        super().__init__("function")

    def register(self, name: str, python: Callable[..., Any],  # type: ignore[override]
                 type_rule: Callable[[list[Type]], Type], sql: Callable | None = None, *,
                 aggregate: bool = False, uses_context: bool = False) -> Function:
        return super().register(name, Function(name, python, type_rule, sql, aggregate,
                                               uses_context))

