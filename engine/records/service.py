"""The record service the Engine facade composes: create, read, update, list, history.

Bound to one runtime snapshot; writes go through the RecordWriter, reads and
access checks through the RecordReader. `create` is handed the workflow's
record creator so a new record enters its start step in the same transaction.
"""
from __future__ import annotations

from typing import Callable, Mapping

from decimal import Decimal

import sqlalchemy as sa

from ..errors import ExpressionError, NotFound, PermissionDenied, ValidationFailed
from ..expr import parse
from ..expr import types as T
from ..forms.preview import Preview
from ..store import archive as archive_store
from ..store.sqlscope import RecordScope
from . import Event, Page, Record

MAX_PAGE = 500


class RecordService:
    def __init__(self, rt, db, clock, reader, writer, create: Callable):
        self.rt, self.db, self.clock = rt, db, clock
        self.reader, self.writer, self._create = reader, writer, create

    def create(self, user, form_id: str, data: Mapping) -> Record:
        """Validate and store a new record; its number, event and workflow start commit together."""
        self.reader.must_create(user, form_id)
        with self.db.write() as conn:
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
             limit: int = 50, offset: int = 0, sums: tuple = ()) -> Page:
        """One page of the records the user may read, filtered and ordered in SQL; with `sums`,
        the SUM of those number fields over every matching record (in the count's query)."""
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
            terms = [_sum_term(scope, name) for name in sums]
            count_q = sa.select(sa.func.count(), *[sa.func.sum(t.expr) for t in terms]) \
                .select_from(scope.from_clause())
            for c in conds:
                ids_q, count_q = ids_q.where(c), count_q.where(c)
            ids = conn.execute(ids_q.order_by(*order_by).limit(limit).offset(offset)).scalars().all()
            counted = conn.execute(count_q).one()
            rows = rt.repo.fetch_many(conn, ids)
        totals = {name: _unscaled(v, t.scale) for name, t, v in zip(sums, terms, counted[1:])}
        return Page([self.reader.record(rows[i]) for i in ids if i in rows], counted[0], totals)

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


def _sum_term(scope: RecordScope, name: str):
    try:
        term = scope.column((name,))
    except ExpressionError as exc:
        raise ValidationFailed({"sums": f"cannot add up {name!r}: {exc}"}) from None
    if term.type.kind not in (T.INTEGER, T.DECIMAL, T.MONEY, T.PERCENT):
        raise ValidationFailed({"sums": f"{name!r} is not a number field"})
    return term


def _unscaled(value, scale) -> Decimal:
    """A SUM of a scaled integer column (money ×100) back to the exact decimal."""
    if value is None:
        return Decimal(0)
    return Decimal(value).scaleb(-(scale or 0)) if scale is not None else Decimal(str(value))


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
