"""Links by title: cell → record id on import, record id → title on export.

A record's title is its form's `title_field` (a field of any typed kind, or
`number`, or `id`), else its number, else `#<id>`. Lookups are SQLAlchemy
conditions on the target form's typed table, built from the value the title
field's type parsed from the cell — never expression text — so a title that
is an integer or a date compares as one.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ..errors import NotFound
from ..fields import FieldError
from .cells import AMBIGUOUS, cell_text, from_cell, to_cell

BY_ID = re.compile(r"^#(\d+)$")
MAX_MATCHES = 10  # candidates read per title; more than one readable is ambiguous anyway


def _no_links(form: str, value: Any):
    return None  # a title field is never looked up through another link


class LinkResolver:
    """Title cells → record ids the acting user may read, one query per distinct cell."""

    def __init__(self, engine, user):
        self.engine, self.user = engine, user
        self.types = engine.registries.field_types
        self.cache: dict[tuple[str, str], int | None] = {}
        self.pending: dict[tuple[str, str], int] = {}  # created in this import, by row key

    def __call__(self, form: str, value: Any) -> int | None:
        key = (form, cell_text(value))
        if key in self.pending:
            return self.pending[key]
        if key not in self.cache:
            self.cache[key] = self._lookup(form, value, key[1])
        return self.cache[key]

    def remember(self, form: str, key: str, record_id: int) -> None:
        self.pending[(form, key)] = record_id

    def _lookup(self, form: str, value: Any, text: str) -> int | None:
        if not text:
            return None
        spec = self.engine.defs.form(form)
        table = self.engine.typed[form].table
        # `#id` only where it is the title: no title field and no number
        untitled = not spec.number and (spec.title_field is None or spec.field(spec.title_field) is None)
        m = BY_ID.match(text) if untitled else None
        # the title; else the number (what names a record's lines in an export); else
        # `#id`, the title of a record with neither
        for cond in (self._condition(spec, table, value, text),
                     table.c._number == text if spec.number else None,
                     table.c._id == int(m.group(1)) if m else None):
            if cond is None:
                continue
            with self.engine.db.read() as conn:
                ids = conn.execute(sa.select(table.c._id).where(cond).order_by(table.c._id)
                                   .limit(MAX_MATCHES)).scalars().all()
            readable = [i for i in ids if self._readable(form, i)]
            if len(readable) > 1:
                return AMBIGUOUS
            if readable:
                return readable[0]
        return None

    def _condition(self, spec, table, value: Any, text: str):
        """The title field equal to the cell, compared as the field's type."""
        tf = spec.title_field or "number"
        field = spec.field(tf)
        if field is not None:
            ftype = self.engine.registries.field_types[field.type]
            if not ftype.typed or ftype.link_form(field) is not None:
                return None
            try:
                parsed = ftype.parse(field, ftype.from_cell(field, value, _no_links))
            except (FieldError, ValueError):
                return None
            if parsed is None:
                return None
            return table.c[field.name] == ftype.to_sql(field, parsed)
        if tf == "id":
            return table.c._id == int(text) if text.isdigit() and text.isascii() else None
        return None  # the number: tried next

    def _readable(self, form: str, record_id: int) -> bool:
        try:
            self.engine.get(self.user, form, record_id)
        except NotFound:
            return False
        return True


class Titles:
    """Record ids → titles for an export, each linked record read once (as the exporting
    user: a record they may not read shows as `#id`)."""

    def __init__(self, engine, user, language: str | None, labels: bool = True):
        self.engine, self.user, self.language, self.labels = engine, user, language, labels
        self.cache: dict[tuple[str, int], str] = {}

    def __call__(self, form: str, record_id: int) -> str:
        key = (form, record_id)
        if key not in self.cache:
            self.cache[key] = self._title(form, record_id)
        return self.cache[key]

    def _title(self, form: str, record_id: int) -> str:
        try:
            rec = self.engine.get(self.user, form, record_id)
        except NotFound:
            return f"#{record_id}"
        return title_of(self.engine.registries.field_types, self.engine.defs.form(form), rec,
                        self.language, self.labels)


def title_of(types, spec, rec, language: str | None, labels: bool = True) -> str:
    """What names `rec` in a link cell: its title field as a cell, its number, or `#id`."""
    tf = spec.title_field
    field = spec.field(tf) if tf else None
    if field is not None and types[field.type].link_form(field) is None:
        cell = to_cell(types, field, rec.data.get(field.name), language=language, title=_no_links,
                       labels=labels)
        text = cell_text(cell.isoformat() if isinstance(cell, (date, datetime)) else cell)
        if text:
            return text
    if tf == "id":
        return str(rec.id)
    return rec.number or f"#{rec.id}"
