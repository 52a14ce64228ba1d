"""The record service the Engine facade composes: create, read, update, list, history.

Bound to one runtime snapshot; writes go through the RecordWriter, reads and
access checks through the RecordReader. `create` is handed the workflow's
record creator so a new record enters its start step in the same transaction.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping

from decimal import Decimal

import sqlalchemy as sa

from ..errors import (ActionRefused, Conflict, ExpressionError, LoomError, NotFound,
                      PermissionDenied, ValidationFailed)
from ..expr import parse
from ..expr.sql import where_form
from ..expr import types as T
from ..forms.preview import Preview
from ..store import archive as archive_store
from ..store import audit
from ..store import tables as t
from ..store import trash as trash_store
from ..store.sqlscope import RecordScope
from . import Event, Page, Record, TrashItem, as_record_id, bulk
from .listing import Pages
from .make_from import Maker, overlay

MAX_PAGE = 500
# A list page shown to a person (`capped_total`: the API unless `?total=exact`, the list page)
# counts its matching records only this far past the page's end: a COUNT(*) over every
# readable row grows with the table (1M rows: 40 ms against 1.6 ms at 100k), the page itself
# does not. Past the cap `Page.total_capped` says "at least `total`".
COUNT_AHEAD = 1000
# A capped list with sums (the list page's totals row) adds up at most this many matching records
# past the page: the sums cost ~1 ms; past the cap they are withheld (`Page.totals` empty,
# `total_capped`), since summing every row of a million-record list cost 130 ms a page view
# (39 ms at 300k against 2 ms for the page itself).
SUMS_AHEAD = 10_000


class RecordService:
    def __init__(self, rt, db, clock, reader, writer, create: Callable):
        self.rt, self.db, self.clock = rt, db, clock
        self.reader, self.writer, self._create = reader, writer, create
        self.maker = Maker(rt, reader)
        self.pages = Pages(self)  # the API's list pages: statements built once per asker

    def create(self, user, form_id: str, data: Mapping, source: str | None = None) -> Record:
        """Validate and store a new record; its number, event and workflow start commit together.
        `source` (`FORM:ID[,ID...]`): made from those records (`make_from`), `data` overriding
        the values they give; the sources are read and checked in the same transaction."""
        self.reader.must_create(user, form_id)
        with self.db.write() as conn:
            self._check_fields(conn, user, form_id, data, None)
            if source:
                data = overlay(self.maker.draft(conn, user, form_id, source), data)
            values = self.rt.forms[form_id].prepare(dict(data or {}), user=user, existing=None,
                                                    services=self.reader.services(conn, user))
            return self._shown(user, self._create(conn, user, form_id, values, self.clock.now()))

    def check_new(self, user, form_id: str, data: Mapping) -> dict:
        """What `create` would store for `data` (validated, computed, unique values checked),
        or ValidationFailed: one read transaction, nothing written, no write lock."""
        self.reader.must_create(user, form_id)
        with self.db.read() as conn:
            self._check_fields(conn, user, form_id, data, None)
            values = self.rt.forms[form_id].prepare(dict(data or {}), user=user, existing=None,
                                                    services=self.reader.services(conn, user))
            self.writer.check_unique(conn, form_id, values, None)
        return values

    def check_new_many(self, user, form_id: str, batch: list) -> list:
        """`check_new` for many records in one read transaction, unique values checked together
        (bulk.taken), linked records read once: for each, the values to store or the error
        (ValidationFailed, PermissionDenied...) it would raise."""
        self.reader.must_create(user, form_id)
        runtime = self.rt.forms[form_id]
        out: list = []
        with self.db.read() as conn:
            services = self.reader.services(conn, user)
            for data in batch:
                try:
                    self._check_fields(conn, user, form_id, data, None)
                    out.append(runtime.prepare(dict(data or {}), user=user, existing=None,
                                               services=services))
                except LoomError as exc:
                    out.append(exc)
            ok = [i for i, v in enumerate(out) if not isinstance(v, LoomError)]
            for j, errors in bulk.taken(self.rt, conn, form_id, [out[i] for i in ok]).items():
                out[ok[j]] = ValidationFailed(errors)
        return out

    def create_checked(self, user, form_id: str, values: dict) -> Record:
        """Store values `check_new` answered (unique values are checked again, under the lock);
        its number, event and workflow start commit together, in the caller's batch."""
        self.reader.must_create(user, form_id)
        with self.db.write() as conn:
            return self._shown(user, self._create(conn, user, form_id, values, self.clock.now()))

    def can_create_many(self, form_id: str) -> bool:
        return bulk.can_insert_many(self.rt, form_id)

    def create_many_checked(self, user, form_id: str, batch: list) -> list[Record] | None:
        """Store many values `check_new` answered, as `create_checked` would one by one, in a
        few statements (bulk.py); None when the form has a workflow (create them one by one)."""
        if not bulk.can_insert_many(self.rt, form_id):
            return None
        self.reader.must_create(user, form_id)
        with self.db.write() as conn:
            records = bulk.insert_many(self.writer, conn, user, form_id, batch, self.clock.now())
            return [self._shown(user, rec) for rec in records]

    def get(self, user, form_id: str, record_id) -> Record:
        """A record the user may read; NotFound otherwise (same as a missing id)."""
        self.rt.defs.form(form_id)
        with self.db.read() as conn:
            try:
                return self._shown(user, self.reader.get(conn, user, form_id, record_id))
            except NotFound:  # archived records stay readable by id, read-only
                return self._shown(user, self.reader.archived(conn, user, form_id, record_id))

    def update(self, user, form_id: str, record_id, data: Mapping, version: int | None) -> Record:
        """Change fields; a stale `version` raises Conflict and writes nothing. Fields the
        user may not change are refused (access.check_write); a write that changes nothing
        answers the record as it is: no new version, no history event."""
        runtime = self.rt.forms[form_id]
        with self.db.write() as conn:
            before = self.reader.get(conn, user, form_id, record_id, lock=True)
            if version is None:
                raise ValidationFailed({"version": "the version you edited is required"})
            self.reader.must_edit(user, before)
            self._check_fields(conn, user, form_id, data, before)
            values = runtime.prepare(dict(data or {}), user=user, existing=before.data,
                                     services=self.reader.services(conn, user))
            if not runtime.diff(before.data, values):
                if version != before.version:
                    raise Conflict(f"the record was changed by someone else (now version "
                                   f"{before.version}); reload it and try again",
                                   current_version=before.version)
                return self._shown(user, before)
            return self._shown(user, self.writer.update(conn, user, before, values, self.clock.now(),
                                                        expected_version=version, check_unique=True))

    def _check_fields(self, conn, user, form_id: str, data, before: Record | None) -> None:
        """Refuse input that would change a field `user` may not change (403/422, naming it)."""
        if user.is_admin or not isinstance(data, Mapping) or not data:
            return
        access, form = self.reader.access, self.rt.defs.form(form_id)
        allowed = set(access.editable(user, form_id, before))
        # only input for a field the user may not change needs the (costlier) change test
        suspects = {k: v for k, v in data.items() if k not in allowed and form.field(k) is not None}
        if not suspects:
            return
        runtime = self.rt.forms[form_id]
        base = before.data if before is not None else \
            runtime.defaults(user, self.reader.services(conn, user))
        access.check_write(user, form_id, runtime.changes(suspects, base, user), before)

    def _shown(self, user, rec: Record) -> Record:
        """The record as `user` may see it: fields they may not read left out."""
        return self.reader.access.redact(user, rec)

    def list(self, user, form_id: str, filter: str | None = None, order: str | None = None,
             limit: int = 50, offset: int = 0, sums: tuple = (), capped_total: bool = False,
             as_json: bool = False) -> Page:
        """One page of the records the user may read, filtered and ordered in SQL; with `sums`,
        the SUM of those number fields over every matching record (in the count's query).
        With `capped_total` the total is counted up to COUNT_AHEAD records past the page
        (SUMS_AHEAD with `sums`; `total_capped` when there are more, and then no sums).
        With `as_json` the items are the records' `to_json()`, their values never parsed into
        Python (a third of an API list page was parsing values it then sent as stored)."""
        self.rt.defs.form(form_id)  # NotFound for an unknown form
        limit = max(0, min(int(limit), MAX_PAGE))
        offset = max(0, int(offset))
        if as_json and not sums:
            return self.pages.page(user, form_id, filter, order, limit, offset, capped_total,
                                   COUNT_AHEAD)
        ids_q, count_q, terms = self.statements(user, form_id, filter, order, sums,
                                                capped_total, self.clock, (t.records,))
        cap = offset + limit + (SUMS_AHEAD if terms else COUNT_AHEAD) if capped_total else None
        with self.db.read() as conn:
            rows = conn.execute(ids_q, {"b_limit": limit, "b_offset": offset}).mappings().all()
            counted = conn.execute(count_q, {} if cap is None else {"b_cap": cap + 1}).one()
        capped = cap is not None and counted[0] > cap
        # the sums of a capped count cover only the rows counted: withheld, never partial
        totals = {} if capped else {name: _unscaled(v, term.scale)
                                    for name, term, v in zip(sums, terms, counted[1:])}
        if as_json:
            items = [self._shown(user, _unparsed(r)).to_json() for r in rows]
        else:
            items = [self._shown(user, self.reader.record(r)) for r in rows]
        return Page(items, cap if capped else counted[0], totals, total_capped=capped)

    def list_rendered(self, user, form_id: str, filter: str | None, order: str | None,
                      limit: int, offset: int, capped_total: bool, render) -> tuple[list, int, bool]:
        """`list(as_json=True)` without sums, each item as `render(item)` gives it (a row read
        again unchanged gives its text again: `Pages.rendered`); with the total and whether
        it is capped."""
        self.rt.defs.form(form_id)  # NotFound for an unknown form
        limit = max(0, min(int(limit), MAX_PAGE))
        offset = max(0, int(offset))
        return self.pages.rendered(user, form_id, filter, order, limit, offset, capped_total,
                                   COUNT_AHEAD, render)

    def statements(self, user, form_id: str, filter: str | None, order: str | None, sums: tuple,
                   capped: bool, clock, columns: tuple):
        """A list page's statements as `user` may run them: the SELECT of `columns` of the
        records rows, its LIMIT and OFFSET the parameters `b_limit` and `b_offset`; the COUNT
        (with the SUMs of `sums`), which with `capped` counts at most `b_cap` rows; the sums'
        terms. The filter and the sort are checked against what `user` may see (raising)."""
        rt = self.rt
        # one alias per form, reused: building an alias's column collection costs ~1 ms
        alias = rt.list_aliases.get(form_id)
        if alias is None:
            alias = rt.list_aliases[form_id] = rt.typed[form_id].table.alias(f"r_{form_id}")
        # the caller's filter and sort follow links under the caller's read rule
        scope = RecordScope(rt.typed, rt.registries.field_types, form_id,
                            dialect=self.db.dialect, user=user, clock=clock, alias=alias,
                            link_rule=self.reader.link_rule(user))
        conds = []
        access = self.reader.access
        if filter:
            expr = parse(filter)
            expr.check(rt.envs.env(form_id), rt.registries.functions)
            access.check_paths(user, form_id, expr.paths(), "a filter")
            conds.append(where_form(expr.compile_sql(scope, rt.registries.functions).expr))
        if order:
            access.check_paths(user, form_id, [tuple(p.strip().lstrip("-+").split("."))
                                               for p in order.split(",")], "a sort")
        visible = self.reader.visibility(scope, user, form_id)
        if visible is not None:
            conds.append(visible)
        order_by = _order(scope, order)
        base = scope.base
        # the page's records rows in one statement with its order (its typed rows lead:
        # a record in the trash has none)
        rec = t.records
        ids_q = sa.select(*columns).select_from(scope.from_clause().join(rec, rec.c.id == base.c._id)) \
            .where(rec.c.deleted_at.is_(None))
        terms = [_sum_term(scope, name) for name in sums]
        if capped:  # stop counting one row past the cap: the cost no longer grows with the table
            count_q = sa.select(sa.literal(1).label("one"), *[
                term.expr.label(f"s{i}") for i, term in enumerate(terms)]) \
                .select_from(scope.from_clause())
        else:
            count_q = sa.select(sa.func.count(), *[sa.func.sum(t.expr) for t in terms]) \
                .select_from(scope.from_clause())
        for c in conds:
            ids_q, count_q = ids_q.where(c), count_q.where(c)
        if capped:
            counted = count_q.limit(sa.bindparam("b_cap", type_=sa.Integer)).subquery()
            count_q = sa.select(sa.func.count(), *[sa.func.sum(counted.c[f"s{i}"])
                                                   for i in range(len(terms))]).select_from(counted)
        ids_q = ids_q.order_by(*order_by).limit(sa.bindparam("b_limit", type_=sa.Integer)) \
            .offset(sa.bindparam("b_offset", type_=sa.Integer))
        return ids_q, count_q, terms

    def history(self, user, form_id: str, record_id) -> list[Event]:
        with self.db.read() as conn:
            try:
                rec = self.reader.get(conn, user, form_id, record_id)
                rows = self.rt.repo.events(conn, rec.id)
            except NotFound:  # archived records stay readable by id, read-only
                rec = self.reader.archived(conn, user, form_id, record_id)
                rows = archive_store.events(conn, rec.id)
            access = self.reader.access
            events = [Event(**{k: r[k] for k in Event.__dataclass_fields__}) for r in rows]
            return [replace(e, diff=access.redact_diff(user, form_id, rec.owner, e.diff))
                    for e in events]

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

    # --- the trash -------------------------------------------------------------------

    def delete(self, user, form_id: str, record_id, version: int | None = None,
               comment: str | None = None) -> Record:
        """Soft-delete a record into the trash (see RecordReader.delete_rule for who and when).
        PermissionDenied when not allowed, ActionRefused (`linked`) while other records link
        to it, Conflict on a stale `version`."""
        self.rt.defs.form(form_id)
        with self.db.write() as conn:
            rec = self.reader.get(conn, user, form_id, record_id, lock=True)
            if version is not None and int(version) != rec.version:
                raise Conflict(f"the record was changed by someone else (now version {rec.version}); "
                               "reload it and try again", current_version=rec.version)
            self.reader.must_delete(user, rec)
            links = trash_store.linking(conn, self.rt.typed, form_id, rec.id)
            if links:
                raise ActionRefused(f"{rec.number or rec.id} cannot be deleted while other records "
                                    f"link to it: {self._named(links, user)}; change or delete those first",
                                    "linked")
            now = self.clock.now()
            after = self.writer.delete(conn, user, rec, now, comment)
            # the owner is the user acted on: filtering the log by them finds their records' fate
            audit.write(conn, now, user.name, "delete", subject=rec.owner, form=form_id, record_id=rec.id,
                        detail={"number": rec.number, "state": rec.state, "owner": rec.owner})
            return after

    def restore(self, user, form_id: str, record_id) -> Record:
        """Take a record out of the trash (administrators)."""
        with self.db.write() as conn:
            rec = self._deleted(conn, user, form_id, record_id)
            now = self.clock.now()
            after = self.writer.restore(conn, user, rec, now)
            audit.write(conn, now, user.name, "restore", subject=rec.owner, form=form_id, record_id=rec.id,
                        detail={"number": rec.number})
            return after

    def purge(self, user, form_id: str, record_id) -> None:
        """Remove a record in the trash for good, with its history (administrators); the
        audit log keeps that it was."""
        with self.db.write() as conn:
            rec = self._deleted(conn, user, form_id, record_id)
            trash_store.purge(conn, rec.id, self.rt.defs.alert_ids_for(form_id))
            audit.write(conn, self.clock.now(), user.name, "purge", subject=rec.owner, form=form_id,
                        record_id=rec.id,
                        detail={"number": rec.number, "owner": rec.owner})

    def trash(self, user, form: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        """Records in the trash (administrators), most recently deleted first: TrashItems."""
        if not user.is_admin:
            raise PermissionDenied("only administrators may see the trash")
        forms = [self.rt.defs.form(form).id] if form else list(self.rt.defs.forms)
        with self.db.read() as conn:
            rows, total = trash_store.listing(conn, forms, max(0, min(int(limit), MAX_PAGE)),
                                              max(0, int(offset)))
        return Page([TrashItem(self.reader.record(r), r["deleted_at"], r["deleted_by"]) for r in rows],
                    total)

    def _deleted(self, conn, user, form_id: str, record_id) -> Record:
        if not user.is_admin:
            raise PermissionDenied("only administrators may restore or purge deleted records")
        self.rt.defs.form(form_id)
        rid = as_record_id(record_id)
        if rid is None:
            raise NotFound(f"no {form_id} record with id {record_id}")
        row = self.rt.repo.fetch(conn, form_id, rid, lock=True, deleted=True)
        if row.get("deleted_at") is None:
            raise ActionRefused(f"{row['number'] or rid} is not in the trash", "not_deleted")
        return self.reader.record(row)

    def _named(self, links: list, user) -> str:
        out = []
        for x in links:
            title = self.rt.defs.form(x["form"]).title.get(user.language)
            out.append(f"{title} {x['number'] or x['id']}")
        return ", ".join(out)

    def new_values(self, user, form_id: str) -> dict:
        """The starting values of a blank form (defaults applied), for the UI."""
        with self.db.read() as conn:
            values = self.rt.forms[form_id].defaults(user, self.reader.services(conn, user))
        hidden = self.reader.access.hidden(user, form_id, user.name)
        return {k: v for k, v in values.items() if k not in hidden}

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
            try:  # a field the user may not change: the save refuses it
                self._check_fields(conn, user, form_id, data, before)
            except (PermissionDenied, ValidationFailed) as exc:
                out.errors.update(exc.fields)
        hidden = self.reader.access.hidden(user, form_id, before.owner if before else user.name)
        if hidden:  # what the user may not see stays out of the preview too
            def keep(key: str) -> bool:
                return key.split("[", 1)[0].split(".", 1)[0] not in hidden
            out = replace(out, **{name: {k: v for k, v in getattr(out, name).items() if keep(k)}
                                  for name in ("values", "data", "visible", "required", "errors")})
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


def _unparsed(row) -> Record:
    """A records row as a Record whose values stay the stored JSON (`json_data`; `data` empty):
    only for answers made of `to_json()` and its redaction, never handed out."""
    return Record(row["id"], row["form"], row["number"], row["state"], row["version"], row["owner"],
                  {}, row["created_at"], row["updated_at"], row.get("definition_version"),
                  row["data"])
