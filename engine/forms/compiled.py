"""What a compiled form is made of: its fields, their levels, and one call's state.

`FormRuntime` builds these once per form and definition version; the parse,
derive and validate steps read them.
"""
from __future__ import annotations

from collections.abc import Mapping  # isinstance through typing's alias costs ~1 µs a call
from typing import Any, Protocol, runtime_checkable

REQUIRED = "is required"
UNKNOWN = "unknown field"


@runtime_checkable
class Services(Protocol):
    """What `prepare` needs from the engine around it.

    `load(form, id)` returns the Python values of a record the acting user may
    read, or None (no such record, or not readable: the same answer, so
    existence does not leak). `clock` has `now()` and `today()`.
    """

    clock: Any

    def load(self, form: str, id: int) -> Mapping | None: ...

    def user_exists(self, name: str) -> bool: ...


class Call:
    """State of one prepare/defaults call: the services and a cache of loaded records."""

    __slots__ = ("services", "user", "language", "cache")

    def __init__(self, services, user):
        self.services = services
        self.user = user
        self.language = language(user)
        self.cache: dict = {}

    def load(self, form: str, id: Any):
        key = (form, id)
        try:
            return self.cache[key]
        except KeyError:
            pass
        found = None
        if self.services is not None and id is not None:
            found = self.services.load(form, id)
        self.cache[key] = found
        return found

    @property
    def clock(self):
        return getattr(self.services, "clock", None)


def username(user) -> str | None:
    if user is None or isinstance(user, str):
        return user
    return getattr(user, "name", None)


def language(user) -> str | None:
    if user is None:
        return None
    if isinstance(user, Mapping):
        return user.get("language")
    return getattr(user, "language", None)


class Field:
    """One field compiled: its type, closures and, for tables, the row level."""

    __slots__ = ("name", "spec", "ftype", "default_fn", "default_literal", "has_default",
                 "compute_fn", "visible_fn", "required_if_fn", "rules", "level", "kind",
                 "link_label", "accepts_input", "bounds_fn", "default_value", "default_ready")

    def __init__(self, spec, ftype):
        self.name = spec.name
        self.spec = spec
        self.ftype = ftype
        self.default_fn = None
        self.default_literal = None
        self.has_default = False
        self.compute_fn = None
        self.visible_fn = None
        self.required_if_fn = None
        self.rules: tuple = ()
        self.level: Level | None = None
        self.kind = "table" if spec.is_table else spec.type
        # a line link (`to: FORM.TABLE`) reads "form table"
        self.link_label = (spec.to or "").replace("_", " ").replace(".", " ")
        self.accepts_input = spec.compute is None
        # built once by FormRuntime: the bounds check (None when it cannot fail) and a
        # literal default already parsed (`default_ready`: an immutable value to hand out)
        self.bounds_fn = None
        self.default_value = None
        self.default_ready = False


    def can_fail(self) -> bool:
        """Whether validating a value of this field can find anything wrong (required, bounds,
        a link or user to look up, rules): fields that cannot are not visited."""
        return bool(self.level is not None or self.spec.required or self.required_if_fn
                    or self.bounds_fn or self.kind in ("link", "line_link", "user")
                    or self.rules)


class Level:
    """The fields of the record or of one table's rows, in both sequences."""

    __slots__ = ("fields", "by_name", "names", "order", "env", "has_visibility", "checked",
                 "derived", "field_names", "table_names")

    def __init__(self, fields, order, env):
        self.fields = tuple(fields)
        self.by_name = {f.name: f for f in self.fields}
        self.names = frozenset(self.by_name)
        self.order = tuple(order)
        self.env = env
        self.has_visibility = any(f.visible_fn is not None for f in self.fields)
        self.checked = tuple(f for f in self.fields if f.can_fail())  # in field order
        # what `derive` visits, in evaluation order: fields with a condition, rows, a compute
        # or a default (the others it would only pass by)
        self.derived = tuple(f for f in self.order if f.visible_fn is not None
                             or f.level is not None or f.compute_fn is not None or f.has_default)
        self.field_names = tuple(f.name for f in self.fields)
        self.table_names = tuple(f.name for f in self.fields if f.level is not None)
