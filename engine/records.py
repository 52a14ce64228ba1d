"""The record as the engine hands it out."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
class Page:
    items: list
    total: int


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


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"
