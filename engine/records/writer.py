"""RecordWriter: every record insert and update, its history event and its change notification.

Whoever writes a record — the facade's create and update, a workflow
transition, an on-enter `update` of another record, an alert's `create` —
goes through here, so every history row has one shape:

    record_id, form, at, actor, action,
    from_state   the step before (None for a new record)
    to_state     the step after
    version      the record's version after the event
    comment      None unless given
    task_id      None unless a task decided it
    diff         {field: [old, new]} of what changed, None when nothing did
    detail       what else happened (tasks opened, on-enter effects, ...), None when nothing

and every write tells the change sink (alerts, then the facade's listeners)
inside the same transaction.
"""
from __future__ import annotations

from typing import Callable, Mapping

import sqlalchemy as sa

from ..auth.users import SYSTEM
from ..errors import Conflict, ValidationFailed
from ..forms.compiled import language
from ..store import trash as trash_store
from ..forms.numbering import counter_key, format_number
from ..labels import phrase
from . import Change, Record

SAME = object()  # from_state: the record's state before the write


class RecordWriter:
    """Writes records of one runtime snapshot; `sink(change)` hears every write."""

    def __init__(self, rt, reader, sink: Callable[[Change], None]):
        self.rt, self.reader, self.sink = rt, reader, sink

    # --- inserts ---------------------------------------------------------------

    def insert(self, conn, user, form_id: str, values: dict, now) -> Record:
        """Store validated values as a new record (number, typed rows, `create` event), in
        the caller's transaction; a workflow's start step is the caller's business."""
        rt = self.rt
        form = rt.defs.form(form_id)
        runtime = rt.forms[form_id]
        wf = rt.defs.workflow_for(form_id)
        values = runtime.identify_lines(values, None)
        if runtime.has_rules:
            self.check_rules(conn, user, form_id, None, values)
        self.check_unique(conn, form_id, values, None)
        number = None
        if form.number:
            key = counter_key(form.number, now, values)
            number = format_number(form.number, rt.repo.next_number(conn, form_id, key),
                                   now, values)
        row = rt.repo.insert(conn, form=form_id, number=number,
                             state=wf.start if wf else None, data=runtime.dump(values),
                             values=values, owner=user.name, now=now,
                             definition_version=wf.version if wf else None)
        rec = self.reader.record(row)
        self._event(conn, rec, user.name, "create", now, from_state=None,
                    diff=runtime.diff({}, values))
        self.sink(Change("create", form_id, user, None, rec, rec.state, conn))
        return rec

    # --- updates ---------------------------------------------------------------

    def update(self, conn, user, before: Record, values: dict, now, *, state=SAME,
               expected_version: int | None = None, action: str = "update",
               from_state=SAME, comment: str | None = None, task_id: int | None = None,
               detail: Mapping | None = None, entered: bool = False,
               check_unique: bool = False, owner: str | None = None) -> Record:
        """Write `values` (and `state`) as the record's next version, with its event.

        `expected_version`: a stale one raises Conflict and writes nothing.
        `entered`: the record entered `state` (listeners hear `update` and `enter`).
        `owner`: the record's new owner (a hand-over); the event's diff shows it as `owner`."""
        rt = self.rt
        runtime = rt.forms[before.form]
        new_state = before.state if state is SAME else state
        values = runtime.identify_lines(values, before.data)
        if runtime.has_rules:
            self.check_rules(conn, user, before.form, before, values)
        if check_unique:
            self.check_unique(conn, before.form, values, before.id)
        diff = runtime.diff(before.data, values)
        if owner is not None and owner != before.owner:
            diff = {**diff, "owner": [before.owner, owner]}
        current = {"id": before.id, "form": before.form, "number": before.number,
                   "state": before.state, "version": before.version, "owner": before.owner,
                   "created_at": before.created_at, "updated_at": before.updated_at,
                   "definition_version": before.definition_version, "data": before.json_data}
        row = rt.repo.update(conn, current, data=runtime.dump(values), values=values,
                             state=new_state, now=now, expected_version=expected_version,
                             changed=diff, owner=owner)
        after = self.reader.record(row)
        self._event(conn, after, user.name, action, now,
                    from_state=before.state if from_state is SAME else from_state,
                    comment=comment, task_id=task_id, diff=diff, detail=detail)
        self.sink(Change("update", after.form, user, before, after, new_state, conn))
        if entered:
            self.sink(Change("enter", after.form, user, before, after, new_state, conn))
        return after

    # --- events without a new version ---------------------------------------------

    def event(self, conn, rec: Record, actor: str, action: str, now, *,
              to_state: str | None = None, comment: str | None = None,
              task_id: int | None = None, detail: Mapping | None = None) -> int:
        """A history event that changes no field (a comment, a transfer, an escalation)."""
        return self._event(conn, rec, actor, action, now, from_state=rec.state,
                           to_state=to_state, comment=comment, task_id=task_id, detail=detail)

    def entered(self, conn, user, rec: Record) -> None:
        """A new record rests in its start step as created: listeners hear `enter`."""
        self.sink(Change("enter", rec.form, user, None, rec, rec.state, conn))

    def _event(self, conn, rec: Record, actor: str, action: str, now, *, from_state,
               to_state: str | None = None, comment: str | None = None,
               task_id: int | None = None, diff: Mapping | None = None,
               detail: Mapping | None = None) -> int:
        return self.rt.repo.append_event(
            conn, record_id=rec.id, form=rec.form, at=now, actor=actor, action=action,
            from_state=from_state, to_state=to_state or rec.state, comment=comment or None,
            task_id=task_id, version=rec.version, diff=dict(diff) if diff else None,
            detail=dict(detail) if detail else None)

    # --- the trash -------------------------------------------------------------------

    def delete(self, conn, user, rec: Record, now, comment: str | None = None) -> Record:
        """Move the record to the trash as its next version: its typed rows go (lists,
        reports, links and alert scans no longer see it), its open tasks are cancelled
        (their ids kept in the event, so a restore reopens them), the history keeps a
        `delete` event. Conflict when the record moved meanwhile."""
        cancelled = trash_store.cancel_tasks(conn, rec.id, now)
        if not trash_store.mark(conn, rec.id, rec.version, user.name, now):
            raise Conflict("the record was changed by someone else; reload it and try again")
        self.rt.typed[rec.form].remove(conn, rec.id)
        after = self.reader.record(self.rt.repo.fetch(conn, rec.form, rec.id, deleted=True))
        self._event(conn, after, user.name, "delete", now, from_state=rec.state, comment=comment,
                    detail={"tasks": cancelled} if cancelled else None)
        return after

    def restore(self, conn, user, rec: Record, now) -> Record:
        """Take the record out of the trash as it was (same step; the tasks its deletion
        cancelled are open again); its unique values must still be free."""
        self.check_unique(conn, rec.form, rec.data, rec.id)
        if not trash_store.mark(conn, rec.id, rec.version, None, None):
            raise Conflict("the record was changed by someone else; reload it and try again")
        row = self.rt.repo.fetch(conn, rec.form, rec.id)
        self.rt.typed[rec.form].insert(conn, row, rec.data)
        after = self.reader.record(row)
        deleted = trash_store.last_deletion(conn, rec.id)
        reopened = trash_store.reopen_tasks(conn, (deleted or {}).get("tasks") or [])
        self._event(conn, after, user.name, "restore", now, from_state=rec.state,
                    detail={"tasks": reopened} if reopened else None)
        return after

    # --- rules every write keeps -------------------------------------------------

    def check_rules(self, conn, user, form_id: str, before: Record | None, values: Mapping) -> None:
        """Refuse a write that breaks one of the form's `validate` rules, whoever makes it.

        Only the rules the change could break are evaluated (engine/forms/invariants.py);
        linked records are read as the system: a rule is an invariant, not a permission."""
        runtime = self.rt.forms[form_id]
        broken = runtime.broken_rules(values, before.data if before is not None else None,
                                      user=user, services=self.reader.services(conn, SYSTEM))
        if broken:
            raise self.rules_broken(conn, user, form_id, before, values,
                                    [(b.path, b.message.get(language(user))) for b in broken])

    def rules_broken(self, conn, user, form_id: str, before: Record | None, values: Mapping,
                     errors) -> ValidationFailed:
        """ValidationFailed for `errors` ([(path, message)]) of one record, its message naming the
        document (form title and number) and each line (position and what it holds), in the
        user's language: what an end user reads when another record's action broke a rule."""
        lang = language(user)
        form = self.rt.defs.form(form_id)
        title = form.title.get(lang) or form_id.replace("_", " ")
        if before is None:
            doc = phrase("new_record", lang, form=title)
        else:
            # its title as lists show it (a code, a name), else its number
            doc = f"{title} {self.title(conn, form_id, before.id) or '#' + str(before.id)}"
        parts = []
        for path, message in errors:
            head, _, rest = path.partition("[")
            spec = form.field(head)
            where = doc
            if rest and spec is not None and spec.is_table:
                index = int(rest.partition("]")[0])
                rows = values.get(head) or ()
                what = self.line_text(conn, spec, rows[index] if index < len(rows) else {})
                where += ", " + phrase("line_at", lang, n=index + 1) + (f" ({what})" if what else "")
                spec = spec.field(rest.partition("].")[2])
            if spec is not None and message not in {r.message.get(lang) for r in spec.validate}:
                # not a rule's own sentence (a bound, a required field): say which field
                message = f"{spec.label.get(lang) or spec.name}: {message}"
            parts.append(f"{where}: {message}")
        return ValidationFailed({}, "; ".join(parts))

    def line_text(self, conn, table, row: Mapping) -> str:
        """What a line holds, for a message: its first filled link to a record (that
        record's title), else its first filled text cell."""
        types = self.rt.registries.field_types
        text = ""
        for cell in table.fields:
            value = row.get(cell.name)
            if value in (None, ""):
                continue
            target = types[cell.type].link_of(cell, value)
            if target is not None and target[0] in self.rt.defs.forms:
                return self.title(conn, target[0], value) or f"#{value}"
            if not text and isinstance(value, str):
                text = value
        return text

    def title(self, conn, form_id: str, record_id) -> str | None:
        """A record's title as lists show it (its title field, else its number), read as the
        system; None when there is no such record."""
        row = self.reader.find_row(conn, form_id, record_id)
        if row is None:
            return None
        rec = self.reader.record(row)
        field = self.rt.defs.form(form_id).title_field
        if field and field != "number" and rec.data.get(field) not in (None, ""):
            return str(rec.data.get(field))
        return rec.number or f"#{rec.id}"

    def check_unique(self, conn, form_id: str, values: Mapping, record_id: int | None) -> None:
        """Refuse a value of a `unique` field that another record already has."""
        rt = self.rt
        tf = rt.typed[form_id]
        errors = {}
        for name in tf.unique:
            value = values.get(name)
            if value in (None, ""):
                continue
            field = rt.defs.form(form_id).field(name)
            q = sa.select(tf.table.c._id).where(
                tf.table.c[name] == rt.registries.field_types[field.type].to_sql(field, value))
            if record_id is not None:
                q = q.where(tf.table.c._id != record_id)
            if conn.execute(q.limit(1)).first() is not None:
                errors[name] = f"{value} is already used by another record"
        if errors:
            raise ValidationFailed(errors)
