"""`Expr`: one parsed, validated expression and its compiled forms.

It sits above the checker and both compilers (it calls them) and below the
parser (which builds it).
"""
from __future__ import annotations

from typing import Any, Callable

from . import nodes as n
from .builtins import default_functions
from .checker import Env, check
from .functions import Functions
from .python import compile_python
from .sql import compile_sql
from .sqlterms import SqlScope, SqlTerm
from .types import Type

_CACHE_SIZE = 16  # distinct (env, functions) pairs one expression is compiled for


class Expr:
    """A parsed expression: equal and hashable by its source text."""

    __slots__ = ("source", "tree", "_paths", "_functions", "_compiled")

    def __init__(self, source: str, tree):
        self.source = source
        self.tree = tree
        self._paths = None
        self._functions = None
        self._compiled: dict = {}

    def __repr__(self) -> str:
        return f"Expr({self.source!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Expr) and other.source == self.source

    def __hash__(self) -> int:
        return hash(("Expr", self.source))

    def paths(self) -> frozenset[tuple[str, ...]]:
        """Every field path named, as tuples: {('project', 'region'), ('total',)}."""
        if self._paths is None:
            self._paths = frozenset(x.parts for x in n.walk(self.tree) if isinstance(x, n.Path))
        return self._paths

    def functions(self) -> frozenset[str]:
        """Names of the functions called."""
        if self._functions is None:
            self._functions = frozenset(x.name for x in n.walk(self.tree)
                                        if isinstance(x, n.Call))
        return self._functions

    def check(self, env: Env, functions: Functions | None = None) -> Type:
        """The static type; raises ExpressionError for unknown names and type errors.

        Without `functions`, only the built-ins are known.
        """
        return check(self, env, functions if functions is not None else default_functions()).type

    def compile_python(self, env: Env, functions: Functions) -> Callable[[Any], Any]:
        """A closure `f(ctx) -> value`, compiled once per (env, functions) pair."""
        key = (id(env), id(functions))
        hit = self._compiled.get(key)
        # the entry holds env and functions, so their ids cannot be reused meanwhile
        if hit is not None and hit[0] is env and hit[1] is functions:
            return hit[2]
        fn = compile_python(self, env, functions)
        if len(self._compiled) >= _CACHE_SIZE:
            self._compiled.pop(next(iter(self._compiled)))
        self._compiled[key] = (env, functions, fn)
        return fn

    def compile_sql(self, scope: SqlScope, functions: Functions) -> SqlTerm:
        """A SQLAlchemy column expression giving what `compile_python` gives."""
        return compile_sql(self, scope, functions)
