"""Reading records as a user: rows into Records, expressions over them, and who may read or edit.

One `RecordReader` is bound to one runtime snapshot (engine/runtime.py), so
everything it answers during an operation comes from the same definitions.
Workflow, alerts and reports get it as their reader and evaluator.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from ..errors import NotFound, PermissionDenied
from ..expr import MappingContext
from ..expr.sql import where_form
from ..store import archive as archive_store
from ..store import tables as t
from ..store.hot import Hot
from . import Record, Services, as_record_id
from .access import FieldAccess

MEMO_SIZE = 2048
# A line id names one line of one record for good (ids are never reused or moved), so which
# record holds it is remembered: a remembered record that no longer holds it has no such line.
LINE_OWNERS_SIZE = 20000

_INVOLVED = sa.select(t.tasks.c.id).where(
    t.tasks.c.record_id == sa.bindparam("b_record_id"),
    t.tasks.c.assignee == sa.bindparam("b_assignee")).limit(1)


def allowed(user, roles: Iterable[str]) -> bool:
    """A form's role list: empty means everyone; admins always."""
    return user.is_admin or not roles or bool(user.roles & set(roles))


def _copy(values: dict) -> dict:
    """Values a caller may change without touching the memo: lists and rows copied."""
    return {k: ([dict(x) if isinstance(x, dict) else x for x in v] if isinstance(v, list) else v)
            for k, v in values.items()}


class RecordReader:
    """Rows → Records, the evaluator of compiled expressions, and the read/edit rules."""

    def __init__(self, rt, users, clock):
        self.rt, self.users, self.clock = rt, users, clock
        self.access = FieldAccess(rt.defs)  # field read/edit rules and step grants
        self._loaded: dict = {}
        self._line_owners: dict = {}  # (FORM.TABLE, line id) -> record id
        self._owner_queries: dict = {}  # FORM.TABLE -> its Hot statement

    # --- rows and values -------------------------------------------------------

    def record(self, row: Mapping) -> Record:
        data = row["data"]
        return Record(row["id"], row["form"], row["number"], row["state"], row["version"],
                      row["owner"], self._load(row["form"], data), row["created_at"],
                      row["updated_at"], row.get("definition_version"), data)

    def new_record(self, row: Mapping, values: Mapping) -> Record:
        """`record(row)` for a row just written from `values` (its `data` is their dump):
        the values in hand are taken, not the JSON loaded again (`FormRuntime.reload`)."""
        data = row["data"]
        return Record(row["id"], row["form"], row["number"], row["state"], row["version"],
                      row["owner"], self.rt.forms[row["form"]].reload(values, data),
                      row["created_at"], row["updated_at"], row.get("definition_version"), data)

    def link_values(self, row: Mapping) -> dict:
        """What a link hop reads of a stored row: its values and system fields, as
        `record(row).values()` gives them, without copying the tables for each hop. The
        lines are shared with the memo: for reading (expressions, checks), never to change."""
        return {**self._parsed(row["form"], row["data"]), "id": row["id"],
                "number": row["number"], "state": row["state"], "owner": row["owner"],
                "created_at": row["created_at"], "updated_at": row["updated_at"]}

    def _parsed(self, form_id: str, data: dict) -> dict:
        """The memo's values of `data` (shared: copy before changing)."""
        memo = self._loaded
        hit = memo.get(id(data))
        if hit is not None and hit[0] is data and hit[1] == form_id:
            return hit[2]
        values = self.rt.forms[form_id].load(data)
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[id(data)] = (data, form_id, values)
        return values

    def _load(self, form_id: str, data: dict) -> dict:
        """`runtime.load(data)`, once per JSON object: a transaction hands out the same
        `data` for every read of a record (store/repository.py), so its values are
        parsed once. The memo holds `data` itself, so its id() cannot be reused."""
        return _copy(self._parsed(form_id, data))

    def find_row(self, conn, form: str, record_id) -> Mapping | None:
        """The stored row for an id that came from data or a user, or None (never an error)."""
        rid = as_record_id(record_id)
        if rid is None or form not in self.rt.defs.forms:
            return None
        try:
            return self.rt.repo.fetch(conn, form, rid)
        except NotFound:
            return None

    def loader(self, conn):
        """Link hops in expressions: a record's values by form and id, as the system sees it
        (a `FORM.TABLE` target: one line by its `_id`, see `line`)."""
        def load(form: str, record_id):
            if "." in form:
                return self.line(conn, None, form, record_id)
            found = self.find_row(conn, form, record_id)
            return None if found is None else self.link_values(found)
        return load

    def find_line(self, conn, target: str, line_id) -> tuple[Mapping, dict, dict] | None:
        """(record row, record values, line) of the line `line_id` of `target` (`FORM.TABLE`),
        found through the line table's indexed `line_id`; None when there is none."""
        form_id, _, table = target.partition(".")
        tf = self.rt.typed.forms.get(form_id)
        if tf is None or table not in tf.lines or not isinstance(line_id, str) or not line_id:
            return None
        rid = self._line_owners.get((target, line_id))
        if rid is None:
            rid = self._owner_query(target, tf.lines[table][0]).scalar(conn, {"b_line": line_id})
            if rid is not None:
                if len(self._line_owners) >= LINE_OWNERS_SIZE:
                    self._line_owners.clear()
                self._line_owners[target, line_id] = rid
        row = self.find_row(conn, form_id, rid) if rid is not None else None
        if row is None:
            return None
        values = self.link_values(row)
        for line in values.get(table) or ():
            if line.get("_id") == line_id:
                return row, values, line
        return None

    def _owner_query(self, target: str, ltable) -> Hot:
        """Which record holds a line of `target`: one statement per line table, built once."""
        q = self._owner_queries.get(target)
        if q is None:
            q = self._owner_queries[target] = Hot(
                sa.select(ltable.c._record_id).where(ltable.c.line_id == sa.bindparam("b_line"))
                .limit(1))
        return q

    def line(self, conn, user, target: str, line_id) -> dict | None:
        """A line as a link to it reaches it: its fields, `id` (its `_id`) and `record` (the
        record's id). With `user`: only a line of a record they may read."""
        found = self.find_line(conn, target, line_id)
        if found is None:
            return None
        row, values, line = found
        if user is not None and not self.can_read_row(conn, user, target.partition(".")[0],
                                                      row, values):
            return None
        return {**line, "id": line_id, "record": row["id"]}

    def reader_loader(self, conn, user):
        """Link hops as `user` may follow them: a record they may not read is no record."""
        def load(form: str, record_id):
            return self.readable_values(conn, user, form, record_id)
        return load

    def eval(self, fn, values: Mapping, user, conn=None, extra: Mapping | None = None,
             as_reader: bool = False) -> Any:
        """Run a compiled expression over a record's values (`extra`: line, target, ...).
        `as_reader`: link hops under `user`'s read rules (values shown to them), else the
        system's (rules, conditions, actions)."""
        return fn(self.context(values, user, conn, extra, as_reader))

    def context(self, values: Mapping, user, conn=None, extra: Mapping | None = None,
                as_reader: bool = False) -> MappingContext:
        """The read-only context `eval` runs in; one may serve several expressions over the
        same values (a condition and the values it saw), its link loads read once."""
        loader = self.reader_loader(conn, user) if as_reader else self.loader(conn)
        # an evaluation only reads its values: they are merged only when there is `extra`
        return MappingContext({**values, **extra} if extra else values, user=user, loader=loader,
                              clock=self.clock)

    def services(self, conn, user) -> Services:
        """What form validation may ask of the store, as `user`."""
        return Services(self.readable_values, self.users, self.clock, conn, user)

    # --- who may read ------------------------------------------------------------

    def has_read_role(self, user, form_id: str) -> bool:
        return allowed(user, self.rt.defs.form(form_id).permissions.read)

    def involved(self, conn, user, record_id: int) -> bool:
        """Whoever holds or held a task on the record, or was copied in."""
        return conn.execute(_INVOLVED, {"b_record_id": record_id,
                                        "b_assignee": user.name}).first() is not None

    def can_read_row(self, conn, user, form_id: str, row: Mapping, values: Mapping,
                     involved=None) -> bool:
        """Admin, owner, the read roles and `rows` rule, or involvement (`involved`, by default
        a task on the record)."""
        if user.is_admin or row["owner"] == user.name:
            return True
        if self.has_read_role(user, form_id):
            fn = self.rt.rows_fn.get(form_id)
            if fn is None or self.eval(fn, values, user, conn):
                return True
        return (involved or self.involved)(conn, user, row["id"])

    def readable_values(self, conn, user, form: str, record_id) -> Mapping | None:
        if "." in form:
            return self.line(conn, user, form, record_id)
        row = self.find_row(conn, form, record_id)
        if row is None:
            return None
        values = self.link_values(row)
        if not self.can_read_row(conn, user, form, row, values):
            return None
        hidden = self.access.hidden(user, form, row["owner"])  # fields they may not see: absent
        return {k: v for k, v in values.items() if k not in hidden} if hidden else values

    def get(self, conn, user, form_id: str, record_id, lock: bool = False) -> Record:
        """A record `user` may read; NotFound otherwise (the same answer as a missing id)."""
        rid = as_record_id(record_id)
        if rid is None:
            raise NotFound(f"no {form_id} record with id {record_id}")
        row = self.rt.repo.fetch(conn, form_id, rid, lock=lock)
        rec = self.record(row)
        if not self.can_read_row(conn, user, form_id, row, rec.values()):
            raise NotFound(f"no {form_id} record with id {record_id}")
        return rec

    def archived(self, conn, user, form_id: str, record_id) -> Record:
        """An archived record `user` may read (read-only; the same rules as `get`); NotFound otherwise."""
        rid = as_record_id(record_id)
        row = archive_store.fetch(conn, form_id, rid) if rid is not None else None
        if row is None:
            raise NotFound(f"no {form_id} record with id {record_id}")
        rec = self.record(row)
        if not self.can_read_row(conn, user, form_id, row, rec.values(), involved=_archive_involved):
            raise NotFound(f"no {form_id} record with id {record_id}")
        return rec

    def visibility(self, scope, user, form_id: str):
        """The SQL form of 'may read': rows rule, ownership, task involvement (None: all)."""
        if user.is_admin:
            return None
        form = self.rt.defs.form(form_id)
        involved = scope.base.c._id.in_(sa.select(t.tasks.c.record_id).where(
            t.tasks.c.assignee == user.name, t.tasks.c.form == form_id))
        own = scope.base.c._owner == user.name
        if self.has_read_role(user, form_id):
            if form.permissions.rows is None:
                return None
            # the rule is the author's: its own link hops see every linked record
            rows = form.permissions.rows.compile_sql(scope.view(None),
                                                     self.rt.registries.functions).expr
            # a WHERE's (and a join's) form: the rule's indexes serve it (expr/README)
            return sa.or_(where_form(rows), own, involved)
        return sa.or_(own, involved)

    def link_rule(self, user):
        """The read rule for link hops in a filter, sort or search `user` wrote (None: all).

        A hop to a form `user` has no read role on is refused: PermissionDenied
        naming the link. A hop to a form they may read joins only the rows they
        may read (`visibility`), so a hidden record behaves as no record: a
        filter then tells them nothing they could not read record by record.
        """
        if user.is_admin:
            return None

        def rule(path: str, form_id: str, scope):
            if not self.has_read_role(user, form_id):
                title = self.rt.defs.form(form_id).title.get(user.language)
                raise PermissionDenied(f"you may not read {title} records, so a filter or sort "
                                       f"cannot follow {path!r}")
            return self.visibility(scope, user, form_id)
        return rule

    # --- who may edit ------------------------------------------------------------

    def can_create(self, user, form_id: str) -> bool:
        return allowed(user, self.rt.defs.form(form_id).permissions.create)

    def must_create(self, user, form_id: str) -> None:
        """PermissionDenied, in the user's words, unless `user` may create `form_id` records."""
        if not self.can_create(user, form_id):
            title = self.rt.defs.form(form_id).title.get(user.language)
            raise PermissionDenied(f"you may not create {title} records")

    def must_edit(self, user, rec: Record) -> None:
        """PermissionDenied unless `user` may edit the record in its current step: reason
        `step_locked` under a workflow, `not_permitted` for a form's `update` roles."""
        if self.can_edit(user, rec):
            return
        if self.rt.defs.workflow_for(rec.form) is None:
            title = self.rt.defs.form(rec.form).title.get(user.language)
            raise PermissionDenied(f"you may not edit {title} records")
        self.access.must_edit(user, rec)

    def can_edit(self, user, rec: Record) -> bool:
        """The edit rule: the step's `edit` (a list, or a map of role to fields) under a
        workflow, else the form's `update` roles (empty: everyone; `owner`: the record's
        owner); admins always. Which fields: `access.editable`."""
        return not self.access.grant(user, rec.form, rec.state, rec.owner).locked


    # --- who may delete ------------------------------------------------------------

    def delete_rule(self, rec: Record) -> tuple[str, ...] | None:
        """Who may delete the record now (roles, `owner`), or None when its step allows no
        deleting (FieldAccess.delete_rule)."""
        return self.access.delete_rule(rec.form, rec.state)

    def must_delete(self, user, rec: Record) -> None:
        """PermissionDenied, saying why, unless `user` may delete the record now. Admins may
        in every step that allows deleting, whoever the step names."""
        who = self.delete_rule(rec)
        if who is None:
            raise PermissionDenied(f"records in step {rec.state} cannot be deleted")
        if user.is_admin or any((w == "owner" and rec.owner == user.name) or w in user.roles
                                for w in who):
            return
        named = ", ".join(who) if who else "administrators"
        raise PermissionDenied(f"only {named} may delete this record"
                               + (f" in step {rec.state}" if rec.state else ""))

    def can_delete(self, user, rec: Record) -> bool:
        try:
            self.must_delete(user, rec)
        except PermissionDenied:
            return False
        return True


def _archive_involved(conn, user, record_id: int) -> bool:
    return archive_store.involved(conn, user.name, record_id)
