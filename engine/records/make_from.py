"""Making a record from other records (`make_from`, 下推): the prefilled draft.

A target form declares, per source form, which values and which lines a new
record takes from a source record (engine/definitions/model.py MakeFromSpec).
`draft` reads the sources as the acting user (a source they may not read is no
source), checks each allows it (`if`), evaluates `values` over the source
record and `lines` over each of its rows, and merges several sources: their
`values` must agree (one record per project, say), their lines are joined.
The result is raw input for the form runtime, so a save validates it exactly
like typed input; the caller's own values override it.
"""
from __future__ import annotations

from typing import Mapping

from ..errors import ActionRefused, NotFound, ValidationFailed
from . import as_record_id

MAX_SOURCES = 50


def parse_source(text: str) -> tuple[str, list[int]]:
    """`FORM:ID[,ID...]` → (form, ids); ValidationFailed on anything else."""
    form, sep, rest = str(text or "").partition(":")
    ids = [as_record_id(x.strip()) for x in rest.split(",")] if sep else []
    if not form or not ids or None in ids:
        raise ValidationFailed({"from": "expected FORM:ID or FORM:ID,ID,... (like request:12)"},
                               "\"from\" must name a form and record ids, like request:12")
    if len(ids) > MAX_SOURCES:
        raise ValidationFailed({"from": f"at most {MAX_SOURCES} source records at once"})
    return form, list(dict.fromkeys(ids))


class Maker:
    """Drafts of records made from source records, for one runtime snapshot."""

    def __init__(self, rt, reader):
        self.rt, self.reader = rt, reader

    def spec(self, form_id: str, source_form: str):
        """The target's `make_from` entry for `source_form`; NotFound when it has none."""
        form = self.rt.defs.form(form_id)
        for entry in form.make_from:
            if entry.form == source_form:
                return entry
        raise NotFound(f"{form.title.get(None)} records are not made from {source_form} records")

    def allows(self, conn, user, entry, rec) -> bool:
        """Whether the source record allows it now (`if`; absent means always)."""
        if entry.if_ is None:
            return True
        fn = self.rt.envs.compile(entry.if_, entry.form)
        return bool(self.reader.eval(fn, rec.values(), user, conn))

    def targets(self, conn, user, rec) -> list[str]:
        """Forms `user` may create from `rec` now: declared, creatable, and `if` holds."""
        out = []
        for fid, form in self.rt.defs.forms.items():
            for entry in form.make_from:
                if entry.form == rec.form and self.reader.can_create(user, fid) \
                        and self.allows(conn, user, entry, rec):
                    out.append(fid)
        return out

    def draft(self, conn, user, form_id: str, source: str) -> dict:
        """Raw input for a new `form_id` record made from `source` (`FORM:ID[,ID...]`)."""
        source_form, ids = parse_source(source)
        entry = self.spec(form_id, source_form)
        runtime = self.rt.forms[form_id]
        target = self.rt.defs.form(form_id)
        merged: dict = {}
        rows: list = []
        for rid in ids:
            rec = self.reader.get(conn, user, source_form, rid)  # NotFound when unreadable
            if not self.allows(conn, user, entry, rec):
                title = target.title.get(getattr(user, "language", None))
                raise ActionRefused(f"{rec.number or '#' + str(rec.id)} does not allow making a "
                                    f"{title} now", reason="source_not_ready")
            values = runtime.dump(self._values(conn, user, entry, rec))
            for name, value in values.items():
                if name in merged and merged[name] != value:
                    raise ValidationFailed(
                        {"from": f"the sources differ in {name.replace('_', ' ')} "
                                 f"({merged[name]} and {value}); make one record per {name}"},
                        "These records cannot be combined into one")
                merged[name] = value
            if entry.lines is not None:
                rows.extend(self._lines(conn, user, entry, rec))
        if entry.lines is not None:
            merged[entry.lines.table] = runtime.dump({entry.lines.table: rows})[entry.lines.table]
        return merged

    def _values(self, conn, user, entry, rec) -> dict:
        env_values = rec.values()
        out = {}
        for name, slot in entry.values:
            if slot.is_expr:
                fn = self.rt.envs.compile(slot.expr, entry.form)
                out[name] = _line_id(self.reader.eval(fn, env_values, user, conn))
            else:
                out[name] = slot.literal
        return out

    def _lines(self, conn, user, entry, rec) -> list[dict]:
        lines = entry.lines
        env = self.rt.envs.env(entry.form, lines.from_)
        fns = self.rt.registries.functions
        keep = lines.if_.compile_python(env, fns) if lines.if_ is not None else None
        slots = [(name, slot.expr.compile_python(env, fns) if slot.is_expr else None, slot)
                 for name, slot in lines.values]
        values = rec.values()
        out = []
        for row in values.get(lines.from_) or ():
            extra = {"line": row}
            if keep is not None and not self.reader.eval(keep, values, user, conn, extra):
                continue
            out.append({name: _line_id(self.reader.eval(fn, values, user, conn, extra))
                        if fn is not None else slot.literal for name, fn, slot in slots})
        return out


def _line_id(value):
    """`line` as a value is the row; a line link stores its `_id`."""
    return value.get("_id") if isinstance(value, Mapping) else value


def overlay(draft: dict, data: Mapping | None) -> dict:
    """The caller's values over the draft: a field they send (a table as a whole) wins."""
    return {**draft, **dict(data or {})}
