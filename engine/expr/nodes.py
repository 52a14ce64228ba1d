"""The validated expression tree: small immutable nodes, one per allowed construct.

Nodes compare by identity (`eq=False`) so the checker can key inferred types
by node; every node keeps the 0-based character offset errors point at.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, eq=False)
class Const:
    value: Any  # str | int | Decimal | bool | None
    offset: int


@dataclass(frozen=True, slots=True, eq=False)
class Path:
    """A name or dotted field path: `total`, `project.region`, `lines.amount`."""

    parts: tuple[str, ...]
    offsets: tuple[int, ...]  # where each part starts

    @property
    def offset(self) -> int:
        return self.offsets[0]


@dataclass(frozen=True, slots=True, eq=False)
class Unary:
    op: str  # "-" | "+" | "not"
    operand: Any
    offset: int


@dataclass(frozen=True, slots=True, eq=False)
class Binary:
    op: str  # "+" "-" "*" "/" "//" "%" "**"
    left: Any
    right: Any
    offset: int  # of the operator


@dataclass(frozen=True, slots=True, eq=False)
class BoolOp:
    op: str  # "and" | "or"
    values: tuple
    offset: int


@dataclass(frozen=True, slots=True, eq=False)
class Compare:
    """`a < b <= c`: ops[i] joins operands[i] and operands[i + 1]."""

    operands: tuple
    ops: tuple[str, ...]  # "==" "!=" "<" "<=" ">" ">=" "in" "not in"
    offsets: tuple[int, ...]  # of each operator

    @property
    def offset(self) -> int:
        return self.operands[0].offset


@dataclass(frozen=True, slots=True, eq=False)
class IfExp:
    test: Any
    body: Any
    orelse: Any
    offset: int


@dataclass(frozen=True, slots=True, eq=False)
class ListLit:
    items: tuple
    offset: int


@dataclass(frozen=True, slots=True, eq=False)
class Call:
    name: str
    args: tuple
    offset: int


def walk(node):
    """Every node of the tree, parents first."""
    yield node
    for child in children(node):
        yield from walk(child)


def children(node) -> tuple:
    if isinstance(node, (Const, Path)):
        return ()
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, (BoolOp,)):
        return node.values
    if isinstance(node, Compare):
        return node.operands
    if isinstance(node, IfExp):
        return (node.test, node.body, node.orelse)
    if isinstance(node, ListLit):
        return node.items
    if isinstance(node, Call):
        return node.args
    raise TypeError(node)
