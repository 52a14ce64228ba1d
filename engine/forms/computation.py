"""Evaluation order of a form's derived fields (defaults, computes, visibility).

A field waits for every field its `default`, `compute` or `visible_if` names;
a table field waits for the parent fields its rows name, and a parent field
naming the table (`sum(lines.amount)`) waits for every row to be finished.
Kahn's algorithm with declaration order as the tie-break keeps the order
natural when nothing forces it.
"""
from __future__ import annotations

import heapq
from typing import Iterable, Mapping

from ..errors import DefinitionError


def roots(exprs: Iterable) -> set[str]:
    """First parts of every field path the expressions name (`item.price` → item)."""
    out: set[str] = set()
    for e in exprs:
        if e is not None:
            out.update(p[0] for p in e.paths())
    return out


def derived_exprs(spec) -> list:
    """The expressions evaluated while deriving a field's value."""
    out = [spec.compute, spec.visible_if]
    if spec.default is not None and spec.default.is_expr:
        out.append(spec.default.expr)
    return out


def field_deps(spec, level_names: set[str], own: set[str] = frozenset()) -> set[str]:
    """Names in `level_names` the field waits for (for a table: what its rows name)."""
    if spec.is_table:
        names: set[str] = set(roots([spec.visible_if]))
        child_names = {c.name for c in spec.fields}
        for c in spec.fields:
            names |= roots(derived_exprs(c)) - child_names
    else:
        names = roots(derived_exprs(spec))
    return (names & level_names) - {spec.name} - set(own)


def evaluation_order(form_id: str, specs, deps: Mapping[str, set[str]]) -> list:
    """The specs sorted so every field comes after what it depends on."""
    index = {s.name: i for i, s in enumerate(specs)}
    waiting = {s.name: set(deps.get(s.name, ())) for s in specs}
    users: dict[str, list[str]] = {s.name: [] for s in specs}
    for name, ds in waiting.items():
        for d in ds:
            users[d].append(name)
    ready = [index[n] for n, ds in waiting.items() if not ds]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        spec = specs[i]
        order.append(spec)
        for u in users[spec.name]:
            waiting[u].discard(spec.name)
            if not waiting[u]:
                heapq.heappush(ready, index[u])
    if len(order) != len(specs):
        stuck = sorted((n for n, ds in waiting.items() if ds), key=index.get)
        raise DefinitionError(f"form {form_id}: the defaults, computed values or visibility "
                              f"rules of {', '.join(stuck)} depend on each other")
    return order
