"""What a compiled expression reads at run time: the evaluation context protocol."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Mapping, Protocol


class EvalContext(Protocol):
    """Values one evaluation sees.

    `value(name)` gives a top-level name (a field, a parameter, `line`,
    `target`); `load(form, record_id)` the field values of a linked record
    (system fields id, number, state, owner included) or None; `load_user`
    a user object by username (for `owner.email`); `user` the acting user
    (attributes name, email, language, manager, roles) or None; `today()`
    and `now()` the clock, so tests can freeze it.
    """

    user: Any

    def value(self, name: str) -> Any: ...

    def load(self, form: str, record_id: Any) -> Mapping[str, Any] | None: ...

    def load_user(self, username: str) -> Any: ...

    def today(self) -> date: ...

    def now(self) -> datetime: ...


class MappingContext:
    """The standard context: values from a mapping, links through `loader(form, id)`.

    Loads are cached for the life of the context, so `project.region` and
    `project.name` in one expression cost one load. `clock` is a callable
    returning the current datetime, or an object with `now()` (and optionally
    `today()`); by default the local wall clock.
    """

    __slots__ = ("values", "user", "loader", "clock", "users", "_loads")

    def __init__(self, values: Mapping[str, Any], user: Any = None,
                 loader: Callable[[str, Any], Mapping[str, Any] | None] | None = None,
                 clock: Any = None, users: Callable[[str], Any] | None = None):
        self.values = values
        self.user = user
        self.loader = loader
        self.clock = clock
        self.users = users
        self._loads: dict = {}

    def value(self, name: str) -> Any:
        return self.values.get(name)

    def load(self, form: str, record_id: Any) -> Mapping[str, Any] | None:
        if record_id is None or self.loader is None:
            return None
        key = (form, record_id)
        if key not in self._loads:
            self._loads[key] = self.loader(form, record_id)
        return self._loads[key]

    def load_user(self, username: str) -> Any:
        if username is None:
            return None
        if self.user is not None and getattr(self.user, "name", None) == username:
            return self.user
        if self.users is None:
            return None
        key = ("<user>", username)
        if key not in self._loads:
            self._loads[key] = self.users(username)
        return self._loads[key]

    def now(self) -> datetime:
        if self.clock is None:
            return datetime.now()
        return self.clock.now() if hasattr(self.clock, "now") else self.clock()

    def today(self) -> date:
        if self.clock is not None and hasattr(self.clock, "today"):
            return self.clock.today()
        now = self.now()
        return now.date() if isinstance(now, datetime) else now
