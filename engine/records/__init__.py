"""The record as the engine hands it out, and the shared types below the facade.

`Record`, `Page` and `Event` are what callers get back; `Change` is what a
write tells its listeners; `Services` is what form validation may ask of the
store. Workflow, alerts and reports import these from here, never from the
facade (engine/engine.py). `reader.RecordReader` reads and checks access,
`writer.RecordWriter` does every insert, update and history event.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy import DateTime
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from ..fields import MAX_ID


@dataclass(frozen=True)
class Record:
    id: int
    form: str
    number: str | None
    state: str | None
    version: int
    owner: str
    data: dict  # Python values (Decimal, date, lists of line dicts)
    created_at: datetime
    updated_at: datetime
    definition_version: str | None = None
    json_data: dict = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The API shape: money as strings, dates as ISO strings."""
        return {
            "id": self.id, "form": self.form, "number": self.number, "state": self.state,
            "version": self.version, "owner": self.owner, "data": self.json_data,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
        }

    def values(self) -> dict:
        """Field values plus system fields, as expressions see the record."""
        return {**self.data, "id": self.id, "number": self.number, "state": self.state,
                "owner": self.owner, "created_at": self.created_at, "updated_at": self.updated_at}


@dataclass(frozen=True)
class TrashItem:
    """A record in the trash: the record as it was, when and by whom it was deleted."""

    record: Record
    deleted_at: datetime
    deleted_by: str | None

    def to_json(self) -> dict[str, Any]:
        return {**self.record.to_json(), "deleted_at": iso(self.deleted_at), "deleted_by": self.deleted_by}


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    totals: dict = field(default_factory=dict)  # field -> sum over every matching record (`sums`)
    total_capped: bool = False  # counting stopped at `total`: there are more (RecordService.list)


@dataclass(frozen=True)
class Event:
    id: int
    record_id: int
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    comment: str | None
    task_id: int | None
    version: int | None
    diff: dict | None
    detail: dict | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "record_id": self.record_id, "at": _iso(self.at), "actor": self.actor,
                "action": self.action, "from_state": self.from_state, "to_state": self.to_state,
                "comment": self.comment, "task_id": self.task_id, "version": self.version,
                "diff": self.diff or {}, "detail": self.detail or {}}


def iso(value: datetime | None) -> str | None:
    """A datetime as the API writes it (UTC, seconds, `Z`)."""
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


_iso = iso  # the old private name


def stored_iso(value) -> str | None:
    """`iso` of a date-time as the driver returns it: on SQLite the stored text
    ('2026-03-02 09:00:00.000000', as SQLAlchemy writes it) cut to 'YYYY-MM-DDTHH:MM:SSZ'
    without parsing it (parsing and formatting back were a third of an API page's CPU);
    text of another shape read as SQLAlchemy's SQLite DATETIME reads it; a datetime: `iso`."""
    if type(value) is str:
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            return f"{value[:10]}T{value[11:19]}Z"
        return iso(_SQLITE_DATETIME(value))
    return iso(value)


_SQLITE = sqlite_dialect()
_SQLITE_DATETIME = DateTime().dialect_impl(_SQLITE).result_processor(_SQLITE, None)


def as_record_id(value: Any) -> int | None:
    """A record id from user input, or None when it cannot be one (never an overflow)."""
    if isinstance(value, bool):
        return None
    try:
        rid = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return rid if 0 < rid <= MAX_ID else None


@dataclass
class Change:
    """What a write did, handed to listeners inside the write's transaction."""

    kind: str  # "create" | "update" | "enter"
    form: str
    user: Any
    before: Record | None
    after: Record
    step: str | None = None
    conn: Any = None


class Services:
    """What form validation may ask of the store, as the acting user.

    `readable(conn, user, form, id)` gives a record's values when the user may
    read it (else None); `users` answers whether a user name exists."""

    def __init__(self, readable: Callable[..., Mapping | None], users, clock, conn, user):
        self._readable, self._users = readable, users
        self.conn, self.user, self.clock = conn, user, clock
        self._cache: dict = {}

    def load(self, form: str, record_id) -> Mapping | None:
        key = (form, record_id)
        if key not in self._cache:
            self._cache[key] = self._readable(self.conn, self.user, form, record_id)
        return self._cache[key]

    def user_exists(self, name: str) -> bool:
        return self._users.exists(name, self.conn)
