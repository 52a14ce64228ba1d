"""A form at run time: input → clean values, defaults, computed fields, validation.

`FormRuntime` is built once per form and definition version: every
expression is compiled to a closure and the derived fields are ordered in
`__init__`, so `prepare` does no parsing and builds no environments.

`prepare` steps, all errors collected before raising one `ValidationFailed`:
parse input (unknown keys refused; computed and read-only fields ignored),
merge over `existing` (update), derive in dependency order (visibility,
defaults on create, computes; rows before the parent fields that aggregate
them), then validate visible fields (required, bounds, rows, links and users
through `services`, `validate` rules). User input is data: it is parsed by its
field type and never evaluated. Each step has its module (`input.py`,
`derive.py`, `validation.py`); this one compiles the form and holds the
views of a record's values (`defaults`, `visible_fields`, `dump`, `load`,
`diff`).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from collections.abc import Mapping  # isinstance through typing's alias costs ~1 µs a call

from ..definitions.environment import all_form_types, form_env
from ..errors import ValidationFailed
from ..expr import types as T
from ..fields import FieldError, expr_type_of
from ..fields.base import FieldType
from ._context import Contexts
from .compiled import Call, Field, Level
from .computation import evaluation_order, field_deps
from .derive import derive, eval_flag
from .input import parse_input
from .invariants import Broken, Invariants
from .lines import identify_lines, line_diff
from .preview import Preview
from .validation import ordered, validate


IMMUTABLE = (str, int, float, bool, Decimal, date, datetime, type(None))


def _parsed_default(ftype, spec) -> tuple:
    """(value, True) for a literal default that parses to an immutable value, shared by
    every new record; (None, False) when it must be parsed per record (a list, an error)."""
    try:
        value = ftype.parse(spec, spec.default.literal)
    except FieldError:
        return None, False  # derive.default reports it, per record, as before
    return (value, True) if type(value) in IMMUTABLE else (None, False)


def _converted(values: Mapping, converters, source: Mapping | None = None) -> dict:
    """A copy of `values`, each field of `converters` ((name, convert), ...) present in
    it converted from `source`'s value (by default its own); other keys as they are."""
    out = dict(values)
    source = out if source is None else source
    for name, convert in converters:
        if name in out:
            out[name] = convert(source[name])
    return out


def _stored_as_is(f: Field) -> bool:
    """Whether a field's type dumps and loads its values unchanged (the base type's
    `dump` and `load`; a table: every cell's)."""
    if f.level is not None:
        return all(_stored_as_is(c) for c in f.level.fields)
    kind = type(f.ftype)
    return kind.dump is FieldType.dump and kind.load is FieldType.load


def bounds_check(ftype, spec):
    """`ftype.bounds(spec, value)` as a closure built once: None when it cannot fail (the
    base check with no min and no max), the bounds parsed once for the base check, the
    type's own `bounds` otherwise. The messages are the type's."""
    if type(ftype).bounds is not FieldType.bounds:
        return lambda value: ftype.bounds(spec, value)
    if spec.min is None and spec.max is None:
        return None
    lo, hi = ftype._bound(spec, spec.min), ftype._bound(spec, spec.max)
    too_low = None if lo is None else f"must be at least {ftype.dump(spec, lo)}"
    too_high = None if hi is None else f"must be at most {ftype.dump(spec, hi)}"

    def check(value):
        if value is None:
            return None
        if lo is not None and value < lo:
            return too_low
        if hi is not None and value > hi:
            return too_high
        return None
    return check


class FormRuntime:
    """One form, compiled once; safe to share between threads (no per-call state)."""

    contexts_cls = Contexts  # how expressions see a record and a row; a subclass may swap it

    def __init__(self, form, defs, registries):
        self.form = form
        self.defs = defs
        self.registries = registries
        self.field_types = registries.field_types
        self.functions = registries.functions
        forms = all_form_types(defs, self.field_types)
        self.env = form_env(defs, self.field_types, form.id, forms=forms)
        self._contexts = self.contexts_cls()
        level_specs = form.fields
        fields = []
        for spec in level_specs:
            f = self._compile_field(spec, self.env)
            if spec.is_table:
                row_types = {c.name: expr_type_of(c, self.field_types) for c in spec.fields}
                row_env = form_env(defs, self.field_types, form.id,
                                   extra={**row_types, "parent": T.link(form.id)}, forms=forms)
                children = [self._compile_field(c, row_env) for c in spec.fields]
                f.level = self._level(spec.fields, children, row_env)
            fields.append(f)
        self.level = self._level(level_specs, fields, self.env)
        self._dumpers = {f.name: self._converter(f, "dump") for f in self.level.fields}
        self._loaders = {f.name: self._converter(f, "load") for f in self.level.fields}
        # the fields whose type stores a value other than as it is: all `reload` must load;
        # `dump` and `load` convert those and every table (its rows copied), and keep the rest
        as_is = {f.name for f in self.level.fields if _stored_as_is(f)}
        self._reloaders = {n: fn for n, fn in self._loaders.items() if n not in as_is}
        converted = [f.name for f in self.level.fields
                     if f.name not in as_is or f.level is not None]
        self._dumping = tuple((n, self._dumpers[n]) for n in converted)
        self._loading = tuple((n, self._loaders[n]) for n in converted)
        self._tables = tuple(f.name for f in self.level.fields if f.level is not None)
        self._invariants = Invariants(self.level, self._contexts)

    # --- compiling --------------------------------------------------------------

    def _compile(self, expr, env):
        return None if expr is None else expr.compile_python(env, self.functions)

    def _compile_field(self, spec, env) -> Field:
        ftype = self.field_types[spec.type]
        f = Field(spec, ftype)
        f.compute_fn = self._compile(spec.compute, env)
        f.visible_fn = self._compile(spec.visible_if, env)
        f.required_if_fn = self._compile(spec.required_if, env)
        f.rules = tuple((self._compile(r.rule, env), r.message) for r in spec.validate)
        if spec.default is not None and spec.compute is None:
            f.has_default = True
            if spec.default.is_expr:
                f.default_fn = self._compile(spec.default.expr, env)
            else:
                f.default_literal = spec.default.literal
                f.default_value, f.default_ready = _parsed_default(ftype, spec)
        if not spec.is_table:
            f.bounds_fn = bounds_check(ftype, spec)
        return f

    def _level(self, specs, fields, env) -> Level:
        names = {s.name for s in specs}
        deps = {s.name: field_deps(s, names) for s in specs}
        order_specs = evaluation_order(self.form.id, list(specs), deps)
        by_name = {f.name: f for f in fields}
        return Level(fields, [by_name[s.name] for s in order_specs], env)

    def prepare(self, raw: Mapping, *, user, existing: Mapping | None = None, services,
                system: bool = False) -> dict:
        """Clean Python values of every stored field, or ValidationFailed with every error.

        `existing` (on update) holds the record's current values; fields not in
        `raw` keep them. `system=True` lets trusted callers (workflow `set`,
        imports) write read-only fields; computed fields are always computed.
        """
        if not isinstance(raw, Mapping):
            raise ValidationFailed({"": "expected an object of field values"})
        call = Call(services, user)
        errors: dict[str, str] = {}
        create = existing is None
        values, bad, fresh_rows = parse_input(self.level, raw, existing, errors, system, user)
        hidden = derive(self.level, self._contexts, values, call, create, bad, fresh_rows, errors)
        validate(self.level, self._contexts, values, hidden, call, existing, errors)
        if errors:
            raise ValidationFailed(ordered(self.level, errors))
        return self._output(values, hidden)

    def changes(self, raw: Mapping, base: Mapping, user) -> list[str]:
        """The fields named in `raw` whose input, parsed as a save parses it, would change
        `base` (the stored values, or a new record's defaults). Computed fields never
        count (they are always computed); input that does not parse counts as a change."""
        if not isinstance(raw, Mapping):
            return []
        known = {k: v for k, v in raw.items() if k in self.level.by_name}
        if not known:
            return []
        errors: dict[str, str] = {}
        before, _, _ = parse_input(self.level, {}, base, {}, True, user)
        after, _, _ = parse_input(self.level, known, base, errors, True, user)
        diff = self.diff(before, after)
        return [k for k in known
                if k in diff or any(e == k or e.startswith(k + "[") for e in errors)]

    def _output(self, values: dict, hidden: set) -> dict:
        out = {}
        for f in self.level.fields:
            name = f.name
            if name in hidden:
                continue
            v = values[name]
            if f.level is not None and f.level.has_visibility:
                v = [{k: x for k, x in row.items() if f"{name}[{i}].{k}" not in hidden}
                     for i, row in enumerate(v)]
            out[name] = v
        return out

    def preview(self, raw: Mapping, *, user, existing: Mapping | None = None, services) -> Preview:
        """`prepare` without raising: what a save of `raw` would store, which fields and
        cells are shown and required, and every error a save would report."""
        if not isinstance(raw, Mapping):
            raise ValidationFailed({"": "expected an object of field values"})
        call = Call(services, user)
        errors: dict[str, str] = {}
        values, bad, fresh_rows = parse_input(self.level, raw, existing, errors, False, user)
        hidden = derive(self.level, self._contexts, values, call, existing is None, bad,
                        fresh_rows, errors)
        validate(self.level, self._contexts, values, hidden, call, existing, errors)
        visible, required = self._flags(values, hidden, call)
        # only the line ids a save would keep: new lines get theirs when saved
        out = identify_lines(self._tables, self._output(values, hidden), existing, fresh=None)
        return Preview(out, self.dump(out), visible, required, ordered(self.level, errors))

    def _flags(self, values: dict, hidden: set, call: Call) -> tuple[dict, dict]:
        """Shown and required, per field and per cell of every row (hidden is never required)."""
        visible: dict[str, bool] = {}
        required: dict[str, bool] = {}
        ctx = self._contexts.record(values, call)
        for f in self.level.fields:
            shown = visible[f.name] = f.name not in hidden
            required[f.name] = shown and self._required(f, ctx)
            if f.level is None or not shown:
                continue
            for i, row in enumerate(values[f.name]):
                rctx = self._contexts.row(row, f.level.names, values, call)
                for c in f.level.fields:
                    path = f"{f.name}[{i}].{c.name}"
                    shown = visible[path] = path not in hidden
                    required[path] = shown and self._required(c, rctx)
        return visible, required

    @staticmethod
    def _required(f: Field, ctx) -> bool:
        return bool(f.spec.required) or (f.required_if_fn is not None
                                         and eval_flag(f.required_if_fn, ctx))

    # --- other views ------------------------------------------------------------

    def defaults(self, user, services) -> dict:
        """Initial values of a new blank record: defaults and computes, no validation."""
        call = Call(services, user)
        values = {f.name: [] if f.level is not None else None for f in self.level.fields}
        derive(self.level, self._contexts, values, call, True, set(), set(), {})
        return values

    def visible_fields(self, values: Mapping, *, user=None, services=None) -> tuple[str, ...]:
        """Paths of the fields shown for these values, in form order (`lines[0].qty` for cells)."""
        call = Call(services, user)
        values = dict(values)
        ctx = self._contexts.record(values, call)
        out = []
        for f in self.level.fields:
            if f.visible_fn is not None and not eval_flag(f.visible_fn, ctx):
                continue
            out.append(f.name)
            if f.level is not None and f.level.has_visibility:
                for i, row in enumerate(values.get(f.name) or ()):
                    rctx = self._contexts.row(row, f.level.names, values, call)
                    for c in f.level.fields:
                        if c.visible_fn is None or eval_flag(c.visible_fn, rctx):
                            out.append(f"{f.name}[{i}].{c.name}")
            elif f.level is not None:
                for i, _ in enumerate(values.get(f.name) or ()):
                    out.extend(f"{f.name}[{i}].{c.name}" for c in f.level.fields)
        return tuple(out)

    def dump(self, values: Mapping) -> dict:
        """Python values → JSON-safe values (Decimal → str, date → ISO); unknown keys kept."""
        return _converted(values, self._dumping)

    def load(self, data: Mapping) -> dict:
        """JSON values (from `dump`) → Python values; unknown keys kept as they are."""
        return _converted(data, self._loading)

    def reload(self, values: Mapping, data: Mapping) -> dict:
        """`load(data)` where `data` is `dump(values)`, without loading what needs no loading:
        a field whose type stores its value as it is keeps the value in hand (the same
        object), the others are loaded from `data`, as a read of the stored record would."""
        return _converted(values, self._reloaders.items(), data)

    def diff(self, old: Mapping, new: Mapping) -> dict:
        """`{field: [old_json, new_json]}` for every field that changed; a table by line
        identity (`forms/lines.py` `line_diff`: lines added, removed, changed, moved)."""
        out = {}
        for f in self.level.fields:
            name = f.name
            a, b = old.get(name), new.get(name)
            if f.level is not None:
                a, b = a or [], b or []
            if a == b and type(a) is type(b):
                continue
            if f.level is not None:
                dump = self._dumpers[name]
                change = line_diff(a, b, lambda row, dump=dump: dump([row])[0])
                if change:
                    out[name] = change
                continue
            da, db = self._dumpers[name](a), self._dumpers[name](b)
            if da != db:
                out[name] = [da, db]
        return out

    def created_diff(self, values: Mapping, data: Mapping) -> dict:
        """`diff({}, values)` of a new record whose `dump(values)` is `data`: the dumped
        values are reused (bulk inserts, records/bulk.py), tables still by `line_diff`."""
        out = {}
        for name in self.level.field_names:
            if name in self._tables:
                if values.get(name):
                    out.update(self.diff({}, {name: values[name]}))
            elif values.get(name) is not None:
                dumped = data.get(name)
                if dumped is not None:
                    out[name] = [None, dumped]
        return out

    @property
    def has_rules(self) -> bool:
        """Whether any field or line of the form has `validate` rules."""
        return not self._invariants.empty

    def broken_rules(self, values: Mapping, before: Mapping | None, *, user,
                     services) -> list[Broken]:
        """The `validate` rules `values` break, among those the change from `before` (None for
        a new record) could break (see `forms/invariants.py`)."""
        if self._invariants.empty:
            return []
        return self._invariants.broken(values, before, Call(services, user))

    def identify_lines(self, values: Mapping, before: Mapping | None) -> dict:
        """`values` whose table rows all carry a trusted line `_id` (see `forms/lines.py`)."""
        return identify_lines(self._tables, values, before)

    def _converter(self, f: Field, method: str):
        """A field's JSON conversion (`dump` or `load` of its type), tables row by row."""
        if f.level is None:
            convert, spec = getattr(f.ftype, method), f.spec
            return lambda v: None if v is None else convert(spec, v)
        cells = {c.name: self._converter(c, method) for c in f.level.fields}
        return lambda rows: [{k: (cells[k](x) if k in cells else x) for k, x in r.items()}
                             for r in rows or ()]
