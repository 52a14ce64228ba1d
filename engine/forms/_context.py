"""Evaluation contexts for a record being prepared and for one of its line items.

On a row, bare names are the row's fields, then the parent record's fields
the row does not shadow, and `parent` is the parent record (the same names
`engine.definitions.semantics` type-checks row expressions against). The
parent is not stored yet, so `parent.x` is answered from memory.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..expr import MappingContext


class _ParentRef:
    """Stands for the unsaved parent record where a link id would be."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<parent>"


PARENT = _ParentRef()


class RowContext(MappingContext):
    __slots__ = ("row", "row_names")

    def __init__(self, row: Mapping, row_names: frozenset, parent: Mapping, call):
        MappingContext.__init__(self, parent, call.user, call.load, call.clock)
        self.row = row
        self.row_names = row_names

    def value(self, name: str) -> Any:
        if name in self.row_names:
            return self.row.get(name)
        if name == "parent":
            return PARENT
        return self.values.get(name)

    def load(self, form: str, record_id: Any):
        if record_id is PARENT:
            return self.values
        return MappingContext.load(self, form, record_id)


class Contexts:
    """Builds contexts; a class attribute hook in spirit, swappable by a subclass."""

    record_cls = MappingContext
    row_cls = RowContext

    def record(self, values: Mapping, call) -> MappingContext:
        return self.record_cls(values, call.user, call.load, call.clock)

    def row(self, row: Mapping, row_names: frozenset, parent: Mapping, call) -> RowContext:
        return self.row_cls(row, row_names, parent, call)
