"""Semantic checks of forms: field types, links, names, numbering, roles, expressions.

Expressions of a table's fields see the row's fields bare, then the parent
record's fields the row does not shadow, and the parent record as `parent`
(`qty * price`, `discount`, `parent.discount`).
"""
from __future__ import annotations

import math
import re
from datetime import date

from ..expr import types as T
from .semantics import (
    E_BOUNDS, E_CYCLE, E_DEFAULT_TEXT, E_DUPLICATE_FIELD, E_FIELD, E_FIELD_KIND, E_FIELD_TYPE,
    E_LINK_TO, E_NUMBER, E_OPTIONS, Context, assignable, names_at, value_at,
)
from .environment import SYSTEM_FIELDS
from .suggest import suggestion_suffix

# Names an expression already gives a meaning to; a field may not take them.
RESERVED = frozenset(SYSTEM_FIELDS) | {"user", "parent", "line", "target"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STRFTIME = set("aAwdbBmyYHIpMSfzZjUWcxXGuV%")
E_OWNER_FIELD = "LOOM-E152"


def check(ctx: Context) -> None:
    for fid, doc in ctx.docs.get("form", {}).items():
        form = ctx.defs.forms.get(fid)
        if form is not None:
            FormCheck(ctx, form, doc).run()


class FormCheck:
    def __init__(self, ctx: Context, form, doc):
        self.ctx, self.form, self.doc = ctx, form, doc
        self.types = ctx.form_types[form.id]

    def run(self) -> None:
        self.fields(self.form.fields, ("fields",), None)
        self.title_and_indexes()
        self.number()
        for key in ("create", "read", "update", "delete", "reassign"):
            self.ctx.check_roles(self.doc, ("permissions", key))
        self.owner_field()
        rows = self.form.permissions.rows
        if rows is not None:
            self.ctx.check_condition(self.doc, ("permissions", "rows"), rows,
                                     self.ctx.env(self.form.id), "permissions.rows")
        archive = self.form.archive
        if archive is not None and archive.if_ is not None:  # compiled to SQL by engine/archive
            self.ctx.check_condition(self.doc, ("archive", "if"), archive.if_,
                                     self.ctx.env(self.form.id), "archive.if")
        self.compute_cycles()

    # --- fields -----------------------------------------------------------------

    def fields(self, fields, base: tuple, table: str | None) -> None:
        seen: dict[str, tuple] = {}
        env = self.ctx.env(self.form.id, table)
        for i, f in enumerate(fields):
            path = base + (i,)
            self.name(f, path, seen)
            self.field_type(f, path, table)
            if f.is_table and table is None:
                self.fields(f.fields, path + ("fields",), f.name)
            if f.type in self.ctx.field_types and not f.is_table:
                self.expressions(f, path, env, table)
            self.bounds(f, path)

    def name(self, f, path: tuple, seen: dict) -> None:
        if f.name in seen:
            first = self.doc.mark(seen[f.name] + ("name",))
            self.ctx.add(self.doc, path + ("name",), f"duplicate field name {f.name!r} (first "
                         f"defined at line {first.line}); field names are unique", E_DUPLICATE_FIELD)
            return
        seen[f.name] = path
        if f.name in RESERVED:
            self.ctx.add(self.doc, path + ("name",), f"{f.name!r} is a name Loom gives every "
                         f"record or expression; call the field something else, such as "
                         f"'{self.form.id}_{f.name}'", E_DUPLICATE_FIELD)

    def field_type(self, f, path: tuple, table: str | None) -> None:
        ctx = self.ctx
        if f.type not in ctx.field_types:
            types = ctx.field_types.names()
            hint = suggestion_suffix(f.type, types) or f"; the field types are {', '.join(types)}"
            ctx.add(self.doc, path + ("type",), f"unknown field type {f.type!r}{hint}",
                    E_FIELD_TYPE)
            return
        if f.is_table and table is not None:
            ctx.add(self.doc, path + ("type",), f"table {f.name!r} is inside table {table!r}; "
                    "line items cannot have line items of their own", E_FIELD_KIND)
        if f.type == "link":
            if not f.to:
                forms = ", ".join(sorted(ctx.defs.forms)[:5])
                ctx.add(self.doc, path + ("type",), f"link field {f.name!r} needs `to:` naming "
                        f"the form it links to (one of: {forms})", E_LINK_TO)
            else:
                ctx.check_form_ref(self.doc, path + ("to",), f.to, "form")
        if f.type in ("choice", "multichoice") and not f.options:
            ctx.add(self.doc, path + ("type",), f"{f.type} field {f.name!r} needs options, "
                    "such as options: [a, b, c]", E_OPTIONS)
        if f.is_table and not f.fields:
            ctx.add(self.doc, path + ("type",), f"table {f.name!r} needs fields: the columns of "
                    "each line item", E_OPTIONS)

    def expressions(self, f, path: tuple, env, table: str | None) -> None:
        ctx, doc = self.ctx, self.doc
        own = self.types.get(f.name) if table is None else \
            self.types.get(table, T.t(T.ANY)).field_map().get(f.name)
        desc = f"field {f.name!r}"
        if f.compute is not None:
            t = ctx.check_expr(doc, path + ("compute",), f.compute, env)
            if t is not None and own is not None:
                if not assignable(own, t):
                    ctx.add(doc, path + ("compute",), f"{desc} is {own}, but its compute gives "
                            f"{t}", "LOOM-E035")
        if f.default is not None:
            self.default(f, path + ("default",), env, own, desc)
        for key in ("visible_if", "required_if"):
            e = getattr(f, key)
            if e is not None:
                ctx.check_condition(doc, path + (key,), e, env, key)
        raw = value_at(doc, path + ("validate",)) or []
        rules = list(f.validate)
        for k, entry in enumerate(raw if isinstance(raw, list) else []):
            text = entry.get("rule") if isinstance(entry, dict) else None
            match = next((r for r in rules if getattr(r.rule, "source", None) == str(text)), None)
            if match is None:
                continue  # did not parse: reported by the builder
            rules.remove(match)
            ctx.check_condition(doc, path + ("validate", k, "rule"), match.rule, env,
                                "validate.rule")

    def bounds(self, f, path: tuple) -> None:
        """min and max: finite, and min not above max (else no value could ever pass)."""
        for key in ("min", "max"):
            v = getattr(f, key)
            if isinstance(v, float) and not math.isfinite(v):
                self.ctx.add(self.doc, path + (key,), f"{key}: {_show_float(v)} is not a usable "
                             f"bound; write a finite number like {key}: 0", E_BOUNDS)
                return
        lo, hi = _comparable(f.min), _comparable(f.max)
        if lo is not None and hi is not None and isinstance(lo, date) == isinstance(hi, date) \
                and lo > hi:
            self.ctx.add(self.doc, path + ("min",), f"min {f.min} is above max {f.max}, so no "
                         "value could pass; swap them", E_BOUNDS)

    def default(self, f, path: tuple, env, own, desc: str) -> None:
        raw = value_at(self.doc, path)
        if isinstance(raw, str) and _IDENT.match(raw.strip()) and raw.strip() not in env.names \
                and f.default.is_expr and not f.default.expr.functions():
            word = raw.strip()
            self.ctx.add(self.doc, path, f"default: {word} names no field; a text default is "
                         f"quoted inside: write default: \"'{word}'\" for the text {word}",
                         E_DEFAULT_TEXT)
            return
        self.ctx.check_value(self.doc, path, f.default, env, own, desc)

    # --- form level -----------------------------------------------------------

    def title_and_indexes(self) -> None:
        doc = self.doc
        plain = {n for n, t in self.types.items() if t.kind not in (T.TABLE,)}
        if self.form.title_field is not None:
            self.field_ref(("title_field",), self.form.title_field, plain, "title_field")
        for p, name in _names(doc, ("indexes",)):
            self.field_ref(p, name, plain, "indexes")

    def owner_field(self) -> None:
        """`owner_field` names a single-user field of the form (reassign writes the new owner there)."""
        name = self.form.owner_field
        if name is None:
            return
        t = self.types.get(name)
        if t is not None and t.kind == T.USER and name in self.form.field_names:
            return
        users = [f.name for f in self.form.fields if self.types.get(f.name) is not None
                 and self.types[f.name].kind == T.USER]
        f = self.form.field(name)
        what = f"is a {f.type} field" if f is not None else "is no field of the form"
        self.ctx.add(self.doc, ("owner_field",), f"owner_field {name!r} {what}; name a user field "
                     f"(one user){suggestion_suffix(name, users)}", E_OWNER_FIELD)

    def field_ref(self, path: tuple, name: str, allowed: set, what: str) -> None:
        if name in allowed:
            return
        t = self.types.get(name)
        if t is not None and t.kind == T.TABLE:
            self.ctx.add(self.doc, path, f"{what}: {name!r} is a table of line items; name one "
                         "of the form's own fields", E_FIELD_KIND)
            return
        self.ctx.add(self.doc, path, f"{what}: form {self.form.id!r} has no field {name!r}"
                     f"{suggestion_suffix(name, [f.name for f in self.form.fields])}", E_FIELD)

    def number(self) -> None:
        pattern = self.form.number
        if not isinstance(pattern, str):
            return
        fields = {f.name for f in self.form.fields if not f.is_table}
        for offset, message in number_pattern_problems(pattern, fields):
            self.ctx.add(self.doc, ("number",), message, E_NUMBER, offset=offset)

    # --- compute cycles -----------------------------------------------------------

    def compute_cycles(self) -> None:
        """`total → lines.amount → total`: computed fields that need themselves."""
        nodes: dict[str, tuple] = {}  # display name -> (expr, yaml path, table)
        for i, f in enumerate(self.form.fields):
            if f.compute is not None:
                nodes[f.name] = (f.compute, ("fields", i, "compute"), None)
            for j, c in enumerate(f.fields if f.is_table else ()):
                if c.compute is not None:
                    nodes[f"{f.name}.{c.name}"] = (c.compute, ("fields", i, "fields", j, "compute"),
                                                   f.name)
        if not nodes:
            return
        edges = {name: self.refs(expr, table, nodes) for name, (expr, _, table) in nodes.items()}
        reported: set[frozenset] = set()
        order = list(nodes)
        for start in order:
            cycle = _find_cycle(start, edges)
            if cycle is None or frozenset(cycle) in reported:
                continue
            reported.add(frozenset(cycle))
            first = min(cycle, key=order.index)
            k = cycle.index(first)
            ring = cycle[k:] + cycle[:k]
            chain = " → ".join(ring + [first])
            self.ctx.add(self.doc, nodes[first][1], f"compute cycle: {chain}; a computed field "
                         "cannot depend on itself", E_CYCLE)

    def refs(self, expr, table: str | None, nodes: dict) -> list[str]:
        out = []
        row = {}
        if table is not None:
            t = self.types.get(table)
            row = t.field_map() if t is not None and t.kind == T.TABLE else {}
        for parts in sorted(expr.paths()):
            head = parts[0]
            if table is not None and head in row:
                name = f"{table}.{head}"
            elif table is not None and head == "parent" and len(parts) > 1:
                name = self.top_ref(parts[1:])
            else:
                name = self.top_ref(parts)
            if name in nodes:
                out.append(name)
            elif name in self.types and self.types[name].kind == T.TABLE:
                out.extend(n for n in nodes if n.startswith(name + "."))
        return out

    def top_ref(self, parts: tuple) -> str:
        t = self.types.get(parts[0])
        if t is not None and t.kind == T.TABLE and len(parts) > 1:
            return f"{parts[0]}.{parts[1]}"
        return parts[0]


def _find_cycle(start: str, edges: dict) -> list[str] | None:
    """A cycle through `start`, as the list of nodes from start, or None."""
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, trail = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt == start:
                return trail
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, trail + [nxt]))
    return None


def _show_float(v: float) -> str:
    return ".nan" if math.isnan(v) else ".inf" if v > 0 else "-.inf"


def _comparable(v):
    """A bound as a number or a date, or None when it is neither."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v)
        except ValueError:
            return None
    return None


def _names(doc, path):
    return names_at(doc, path)


def number_pattern_problems(pattern: str, fields: set[str]) -> list[tuple[int, str]]:
    """(offset, message) for each bad placeholder of a `number` pattern."""
    out = []
    i, n = 0, len(pattern)
    allowed = sorted(fields) + ["seq", "date"]
    while i < n:
        c = pattern[i]
        if c == "}":
            if pattern.startswith("}}", i):
                i += 2
                continue
            out.append((i, "number pattern: a single '}' must be written '}}'"))
            i += 1
            continue
        if c != "{":
            i += 1
            continue
        if pattern.startswith("{{", i):
            i += 2
            continue
        j = pattern.find("}", i + 1)
        if j < 0:
            out.append((i, "number pattern: '{' is not closed; write '{{' for a literal brace"))
            break
        inner = pattern[i + 1:j]
        name, _, spec = inner.partition(":")
        at = i + 1
        if name == "seq":
            if spec and not re.fullmatch(r"0?[1-9][0-9]?", spec):
                out.append((at + 4, f"number pattern: {{seq:{spec}}} needs a width such as "
                            "{seq:05} (five digits, zero-padded)"))
        elif name == "date":
            bad = _bad_strftime(spec)
            if bad is not None:
                out.append((at + 5 + bad, f"number pattern: {{date:{spec}}} is not a date format;"
                            " use strftime codes such as {date:%Y%m}"))
        elif name not in fields:
            out.append((at, f"number pattern: {{{name}}} is not seq, date or a field of the form"
                        f"{suggestion_suffix(name, allowed)}"))
        elif spec and "{" in spec:
            out.append((at, "number pattern: nested placeholders are not allowed"))
        i = j + 1
    return out


def _bad_strftime(spec: str) -> int | None:
    """Offset of the first bad strftime code in `spec`, or None."""
    k = 0
    while k < len(spec):
        if spec[k] == "%":
            if k + 1 >= len(spec) or spec[k + 1] not in _STRFTIME:
                return k
            k += 2
        else:
            k += 1
    return None
