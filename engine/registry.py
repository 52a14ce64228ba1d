"""Registries owned by an Engine: field types, functions, actions, channels.

Built-ins register exactly the way plugins do (entry-point group
`loom.plugins`: a callable receiving the Registries); `engine/bootstrap.py`
fills a fresh set. This module is at the bottom layer and imports nothing of
the engine but its errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Iterator, TypeVar

from .errors import LoomError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → item, per instance (never a class-global)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T | None = None):
        """Register `item` under `name`; usable as a decorator when item is omitted."""
        if item is None:
            def deco(obj):
                self._items[name] = obj
                return obj
            return deco
        self._items[name] = item
        return item

    def get(self, name: str) -> T | None:
        return self._items.get(name)

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise LoomError(f"unknown {self.kind} {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def names(self) -> list[str]:
        return sorted(self._items)


@dataclass
class Registries:
    field_types: Registry = field(default_factory=lambda: Registry("field type"))
    functions: object = None  # engine.expr.Functions
    actions: Registry = field(default_factory=lambda: Registry("action"))
    channels: Registry = field(default_factory=lambda: Registry("channel"))
    plugins: list = field(default_factory=list)  # names of the loaded plugin entry points
