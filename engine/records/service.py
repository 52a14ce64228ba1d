"""The record service the Engine facade composes: create, read, update, list, history.

Bound to one runtime snapshot; writes go through the RecordWriter, reads and
access checks through the RecordReader. `create` is handed the workflow's
record creator so a new record enters its start step in the same transaction.
"""
from __future__ import annotations

from typing import Callable, Mapping

import sqlalchemy as sa

from ..errors import ExpressionError, NotFound, PermissionDenied, ValidationFailed
from ..expr import parse
from ..expr import types as T
from ..forms.preview import Preview
from ..store import archive as archive_store
from ..store.sqlscope import RecordScope
from . import Event, Page, Record
from .make_from import Maker, overlay

MAX_PAGE = 500


class RecordService:
    def __init__(self, rt, db, clock, reader, writer, create: Callable):
        self.rt, self.db, self.clock = rt, db, clock
        self.reader, self.writer, self._create = reader, writer, create
        self.maker = Maker(rt, reader)

    def create(self, user, form_id: str, data: Mapping, source: str | None = None) -> Record:
        """Validate and store a new record; its number, event and workflow start commit together.
        `source` (`FORM:ID[,ID...]`): made from those records (`make_from`), `data` overriding
        the values they give; the sources are read and checked in the same transaction."""
        self.reader.must_create(user, form_id)
        with self.db.write() as conn:
            if source:
                data = overlay(self.maker.draft(conn, user, form_id, source), data)
            values = self.rt.forms[form_id].prepare(dict(data or {}), user=user, existing=None,
                                                    services=self.reader.services(conn, user))
            return self._create(conn, user, form_id, values, self.clock.now())

    def check_new(self, user, form_id: str, data: Mapping) -> dict:
        """What `create` would store for `data` (validated, computed, unique values checked),
        or ValidationFailed: one read transaction, nothing written, no write lock."""
        self.reader.must_create(user, form_id)
        with self.db.read() as conn:
            values = self.rt.forms[form_id].prepare(dict(data or {}), user=user, existing=None,
                                                    services=self.reader.services(conn, user))
            self.writer.check_unique(conn, form_id, values, None)
        return values

    def create_checked(self, user, form_id: str, values: dict) -> Record:
        """Store values `check_new` answered (unique values are checked again, under the lock);
        its number, event and workflow start commit together, in the caller's batch."""
        self.reader.must_create(user, form_id)
        with self.db.write() as conn:
            return self._create(conn, user, form_id, values, self.clock.now())

    def get(self, user, form_id: str, record_id) -> Record:
        """A record the user may read; NotFound otherwise (same as a missing id)."""
        self.rt.defs.form(form_id)
        with self.db.read() as conn:
            try:
                return self.reader.get(conn, user, form_id, record_id)
            except NotFound:  # archived records stay readable by id, read-only
                return self.reader.archived(conn, user, form_id, record_id)

    def update(self, user, form_id: str, record_id, data: Mapping, version: int | None) -> Record:
        """Change fields; a stale `version` raises Conflict and writes nothing."""
        runtime = self.rt.forms[form_id]
        with self.db.write() as conn:
            before = self.reader.get(conn, user, form_id, record_id, lock=True)
            if version is None:
                raise ValidationFailed({"version": "the version you edited is required"})
            self.reader.must_edit(user, before)
            values = runtime.prepare(dict(data or {}), user=user, existing=before.data,
                                     services=self.reader.services(conn, user))
            return self.writer.update(conn, user, before, values, self.clock.now(),
                                      expected_version=version, check_unique=True)

    def list(self, user, form_id: str, filter: str | None = None, order: str | None = None,
             limit: int = 50, offset: int = 0) -> Page:
        """One page of the records the user may read, filtered and ordered in SQL."""
        rt = self.rt
        rt.defs.form(form_id)  # NotFound for an unknown form
        limit = max(0, min(int(limit), MAX_PAGE))
        offset = max(0, int(offset))
        # one alias per form, reused: building an alias's column collection costs ~1 ms
        alias = rt.list_aliases.get(form_id)
        if alias is None:
            alias = rt.list_aliases[form_id] = rt.typed[form_id].table.alias(f"r_{form_id}")
        # the caller's filter and sort follow links under the caller's read rule
        scope = RecordScope(rt.typed, rt.registries.field_types, form_id,
                            dialect=self.db.dialect, user=user, clock=self.clock, alias=alias,
                            link_rule=self.reader.link_rule(user))
        conds = []
        if filter:
            expr = parse(filter)
            expr.check(rt.envs.env(form_id), rt.registries.functions)
            conds.append(expr.compile_sql(scope, rt.registries.functions).expr)
        visible = self.reader.visibility(scope, user, form_id)
        if visible is not None:
            conds.append(visible)
        order_by = _order(scope, order)
        base = scope.base
        with self.db.read() as conn:
            ids_q = sa.select(base.c._id).select_from(scope.from_clause())
            count_q = sa.select(sa.func.count()).select_from(scope.from_clause())
            for c in conds:
                ids_q, count_q = ids_q.where(c), count_q.where(c)
            ids = conn.execute(ids_q.order_by(*order_by).limit(limit).offset(offset)).scalars().all()
            total = conn.execute(count_q).scalar_one()
            rows = rt.repo.fetch_many(conn, ids)
        return Page([self.reader.record(rows[i]) for i in ids if i in rows], total)

    def history(self, user, form_id: str, record_id) -> list[Event]:
        with self.db.read() as conn:
            try:
                rows = self.rt.repo.events(conn, self.reader.get(conn, user, form_id, record_id).id)
            except NotFound:  # archived records stay readable by id, read-only
                rows = archive_store.events(conn, self.reader.archived(conn, user, form_id, record_id).id)
            return [Event(**{k: r[k] for k in Event.__dataclass_fields__}) for r in rows]

    def search_archive(self, user, form: str | None, text: str | None, limit: int,
                       offset: int) -> Page:
        """Archived records (admins only), newest first, by form and/or text in any value."""
        if not user.is_admin:
            raise PermissionDenied("only administrators may search the archive")
        if form:
            self.rt.defs.form(form)
        with self.db.read() as conn:
            rows, total = archive_store.search(conn, form=form, text=text or None,
                                               limit=max(0, min(int(limit), MAX_PAGE)),
                                               offset=max(0, int(offset)))
        return Page([self.reader.record(r) for r in rows if r["form"] in self.rt.defs.forms], total)

    def new_values(self, user, form_id: str) -> dict:
        """The starting values of a blank form (defaults applied), for the UI."""
        with self.db.read() as conn:
            return self.rt.forms[form_id].defaults(user, self.reader.services(conn, user))

    def draft_from(self, user, form_id: str, source: str) -> Preview:
        """The new record `create(..., source=source)` would make, prefilled from the source
        records and run through the form as a save would: nothing is written."""
        self.reader.must_create(user, form_id)
        with self.db.read() as conn:
            raw = self.maker.draft(conn, user, form_id, source)
            return self.rt.forms[form_id].preview(raw, user=user, existing=None,
                                                  services=self.reader.services(conn, user))

    def line_options(self, user, target: str, within=None, q: str = "",
                     limit: int = 20) -> list[tuple[str, str]]:
        """(line id, title) of lines of `target` (`FORM.TABLE`) `user` may read, newest records
        first; `within`: only lines of that record; `q`: records whose number contains it.
        One SQL query over the indexed line table and the records' visibility rule."""
        form_id, _, table = target.partition(".")
        tf = self.rt.typed.forms.get(form_id)
        if tf is None or table not in tf.lines:
            raise NotFound(f"no table {target}")
        ltable = tf.lines[table][0]
        # the list's cached alias: building an alias's column collection costs ~1 ms
        alias = self.rt.list_aliases.get(form_id)
        if alias is None:
            alias = self.rt.list_aliases[form_id] = tf.table.alias(f"r_{form_id}")
        scope = RecordScope(self.rt.typed, self.rt.registries.field_types, form_id,
                            dialect=self.db.dialect, user=user, clock=self.clock, alias=alias)
        base = scope.base
        query = sa.select(ltable.c.line_id, ltable.c._record_id).select_from(
            ltable.join(base, base.c._id == ltable.c._record_id)).where(ltable.c.line_id.is_not(None))
        visible = self.reader.visibility(scope, user, form_id)
        if visible is not None:
            query = query.where(visible)
        if within is not None:
            query = query.where(ltable.c._record_id == within)
        if q:
            query = query.where(sa.func.lower(base.c._number).contains(q.strip().lower()[:100],
                                                                       autoescape=True))
        query = query.order_by(ltable.c._record_id.desc(), ltable.c._position)
        with self.db.read() as conn:
            found = conn.execute(query.limit(max(0, min(int(limit), MAX_PAGE)))).all()
            rows = self.rt.repo.fetch_many(conn, list({rid for _, rid in found}))
            records = {rid: self.reader.record(row) for rid, row in rows.items()}
            load = self.reader.reader_loader(conn, user)
            return [(lid, line_title(self.rt, records[rid], table, lid, load))
                    for lid, rid in found if rid in records]

    def line_title(self, user, target: str, line_id: str) -> str | None:
        """The readable title of one line (as `line_options` shows it), or None when there is
        no such line or `user` may not read its record."""
        with self.db.read() as conn:
            found = self.reader.find_line(conn, target, line_id)
            if found is None:
                return None
            row, values, _ = found
            if not self.reader.can_read_row(conn, user, row["form"], row, values):
                return None
            return line_title(self.rt, self.reader.record(row), target.partition(".")[2], line_id,
                              self.reader.reader_loader(conn, user))

    def make_targets(self, user, rec: Record) -> list[str]:
        """Forms `user` may make from `rec` now (declared in `make_from`, may create, `if` holds)."""
        with self.db.read() as conn:
            return self.maker.targets(conn, user, rec)

    def preview(self, user, form_id: str, data: Mapping, record_id=None) -> Preview:
        """What saving `data` (a new record, or an edit of `record_id`) would store, show and
        require, and the errors it would answer: one read transaction, nothing written."""
        self.rt.defs.form(form_id)  # NotFound for an unknown form
        with self.db.read() as conn:
            before = None
            if record_id is not None:
                before = self.reader.get(conn, user, form_id, record_id)
                self.reader.must_edit(user, before)
            else:
                self.reader.must_create(user, form_id)
            out = self.rt.forms[form_id].preview(dict(data or {}), user=user,
                                                 services=self.reader.services(conn, user),
                                                 existing=before.data if before else None)
            try:  # a value another record already has: the save answers that too
                self.writer.check_unique(conn, form_id, out.values, before.id if before else None)
            except ValidationFailed as exc:
                out.errors.update({k: v for k, v in exc.fields.items() if k not in out.errors})
        return out


def line_title(rt, rec: Record, table: str, line_id: str, load) -> str:
    """How a person tells one line from another: the record's number, the line's first text
    or link field (a link by its record's title) and its first number, `SO-1 · Desk × 3`."""
    spec = rt.defs.form(rec.form).field(table)
    line = next((r for r in rec.data.get(table) or () if r.get("_id") == line_id), {})
    parts = [rec.number or f"#{rec.id}"]
    name = qty = None
    types = rt.registries.field_types
    for f in spec.fields:
        value, ftype = line.get(f.name), types.get(f.type)
        if value in (None, "") or ftype is None:
            continue
        kind = ftype.expr_type(f).kind
        if name is None and ftype.link_form(f) is not None:
            name = _link_text(rt, f, value, load)
        elif name is None and kind == T.TEXT:
            name = str(value)
        elif qty is None and kind in (T.INTEGER, T.DECIMAL):
            qty = value
    if name is not None:
        parts.append(name)
    title = " · ".join(parts)
    return f"{title} × {qty}" if qty is not None else title


def _link_text(rt, f, value, load) -> str:
    target = rt.defs.forms.get(f.to)
    linked = load(f.to, value) if target is not None else None
    if linked is None:
        return f"#{value}"
    shown = linked.get(target.title_field) if target.title_field else None
    return str(shown if shown not in (None, "") else linked.get("number") or f"#{value}")


def _order(scope: RecordScope, order: str | None) -> list:
    if not order:
        return [scope.base.c._id.desc()]
    out = []
    for part in order.split(","):
        part = part.strip()
        desc = part.startswith("-")
        name = part.lstrip("-+")
        try:
            col = scope.column(tuple(name.split("."))).expr
        except ExpressionError as exc:
            raise ValidationFailed({"order": f"cannot sort by {name!r}: {exc}"}) from None
        out.append(col.desc() if desc else col.asc())
    out.append(scope.base.c._id.desc())
    return out
