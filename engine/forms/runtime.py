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
field type and never evaluated.
"""
from __future__ import annotations

from decimal import Decimal, ROUND_HALF_UP
from datetime import date, datetime
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from ..definitions.environment import SYSTEM_FIELDS
from ..errors import ExpressionError, ValidationFailed
from .computation import evaluation_order, field_deps
from ..fields import FieldError

REQUIRED = "is required"
UNKNOWN = "unknown field"


@runtime_checkable
class Services(Protocol):
    """What `prepare` needs from the engine around it.

    `load(form, id)` returns the Python values of a record the acting user may
    read, or None (no such record, or not readable: the same answer, so
    existence does not leak). `clock` has `now()` and `today()`.
    """

    clock: Any

    def load(self, form: str, id: int) -> Mapping | None: ...

    def user_exists(self, name: str) -> bool: ...


class _Call:
    """State of one prepare/defaults call: the services and a cache of loaded records."""

    __slots__ = ("services", "user", "language", "cache")

    def __init__(self, services, user):
        self.services = services
        self.user = user
        self.language = _language(user)
        self.cache: dict = {}

    def load(self, form: str, id: Any):
        key = (form, id)
        try:
            return self.cache[key]
        except KeyError:
            pass
        found = None
        if self.services is not None and id is not None:
            found = self.services.load(form, id)
        self.cache[key] = found
        return found

    @property
    def clock(self):
        return getattr(self.services, "clock", None)


def _username(user) -> str | None:
    if user is None or isinstance(user, str):
        return user
    return getattr(user, "name", None)


def _language(user) -> str | None:
    if user is None:
        return None
    if isinstance(user, Mapping):
        return user.get("language")
    return getattr(user, "language", None)


def _truthy(fn, ctx) -> bool:
    return bool(fn(ctx))


class _Field:
    """One field compiled: its type, closures and, for tables, the row level."""

    __slots__ = ("name", "spec", "ftype", "default_fn", "default_literal", "has_default",
                 "compute_fn", "visible_fn", "required_if_fn", "rules", "level", "kind",
                 "link_label", "accepts_input")

    def __init__(self, spec, ftype):
        self.name = spec.name
        self.spec = spec
        self.ftype = ftype
        self.default_fn = None
        self.default_literal = None
        self.has_default = False
        self.compute_fn = None
        self.visible_fn = None
        self.required_if_fn = None
        self.rules: tuple = ()
        self.level: _Level | None = None
        self.kind = "table" if spec.is_table else spec.type
        self.link_label = (spec.to or "").replace("_", " ")
        self.accepts_input = spec.compute is None


class _Level:
    """The fields of the record or of one table's rows, in declaration and in evaluation order."""

    __slots__ = ("fields", "by_name", "names", "order", "env", "has_visibility")

    def __init__(self, fields, order, env):
        self.fields = tuple(fields)
        self.by_name = {f.name: f for f in self.fields}
        self.names = frozenset(self.by_name)
        self.order = tuple(order)
        self.env = env
        self.has_visibility = any(f.visible_fn is not None for f in self.fields)


class FormRuntime:
    """One form, compiled once; safe to share between threads (no per-call state)."""

    def __init__(self, form, defs, registries):
        from ..definitions.environment import all_form_types, form_env
        from ..fields import expr_type_of

        self.form = form
        self.defs = defs
        self.registries = registries
        self.field_types = registries.field_types
        self.functions = registries.functions
        forms = all_form_types(defs, self.field_types)
        self.env = form_env(defs, self.field_types, form.id, forms=forms)
        self._contexts = _context_classes()
        level_specs = form.fields
        fields = []
        for spec in level_specs:
            f = self._compile_field(spec, self.env)
            if spec.is_table:
                row_types = {c.name: expr_type_of(c, self.field_types) for c in spec.fields}
                from ..expr import types as T

                row_env = form_env(defs, self.field_types, form.id,
                                   extra={**row_types, "parent": T.link(form.id)}, forms=forms)
                children = [self._compile_field(c, row_env) for c in spec.fields]
                f.level = self._level(spec.fields, children, row_env)
            fields.append(f)
        self.level = self._level(level_specs, fields, self.env)
        self._dumpers = {f.name: self._converter(f, "dump") for f in self.level.fields}
        self._loaders = {f.name: self._converter(f, "load") for f in self.level.fields}

    # --- compiling --------------------------------------------------------------

    def _compile(self, expr, env):
        return None if expr is None else expr.compile_python(env, self.functions)

    def _compile_field(self, spec, env) -> _Field:
        ftype = self.field_types[spec.type]
        f = _Field(spec, ftype)
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
        return f

    def _level(self, specs, fields, env) -> _Level:
        names = {s.name for s in specs}
        deps = {s.name: field_deps(s, names) for s in specs}
        order_specs = evaluation_order(self.form.id, list(specs), deps)
        by_name = {f.name: f for f in fields}
        return _Level(fields, [by_name[s.name] for s in order_specs], env)

    # --- prepare ----------------------------------------------------------------

    def prepare(self, raw: Mapping, *, user, existing: Mapping | None = None, services,
                system: bool = False) -> dict:
        """Clean Python values of every stored field, or ValidationFailed with every error.

        `existing` (on update) holds the record's current values; fields not in
        `raw` keep them. `system=True` lets trusted callers (workflow `set`,
        imports) write read-only fields; computed fields are always computed.
        """
        if not isinstance(raw, Mapping):
            raise ValidationFailed({"": "expected an object of field values"})
        call = _Call(services, user)
        errors: dict[str, str] = {}
        create = existing is None
        values, bad, fresh_rows = self._parse(raw, existing, errors, system, user)
        hidden = self._derive(values, call, create, bad, fresh_rows, errors)
        self._validate(values, hidden, call, existing, errors)
        if errors:
            raise ValidationFailed(self._ordered(errors))
        return self._output(values, hidden)

    def _parse(self, raw: Mapping, existing: Mapping | None, errors: dict, system: bool, user):
        level = self.level
        values: dict = {}
        if existing is not None:
            for f in level.fields:
                v = existing.get(f.name)
                if f.level is not None:
                    cells = f.level.fields
                    v = [{c.name: r.get(c.name) for c in cells} for r in v or ()]
                values[f.name] = v
            # expressions may name system fields (state, owner, number...): not stored here
            for name in SYSTEM_FIELDS:
                if name in existing and name not in level.by_name:
                    values[name] = existing[name]
        else:
            for f in level.fields:
                values[f.name] = [] if f.level is not None else None
            if "owner" not in level.by_name:
                values["owner"] = _username(user)
        bad: set[str] = set()
        fresh_rows: set[str] = set()
        for key, rv in raw.items():
            f = level.by_name.get(key)
            if f is None:
                errors[str(key)] = UNKNOWN
                continue
            if not f.accepts_input or (f.spec.readonly and not system):
                continue  # computed values are always computed; read-only is not the user's
            if f.level is not None:
                values[key] = self._parse_rows(f, rv, errors, bad, system)
                fresh_rows.add(key)
                continue
            try:
                values[key] = f.ftype.parse(f.spec, rv)
            except FieldError as exc:
                errors[key] = str(exc)
                bad.add(key)
                values[key] = None
        return values, bad, fresh_rows

    def _parse_rows(self, f: _Field, raw: Any, errors: dict, bad: set, system: bool) -> list:
        try:
            rows = f.ftype.parse(f.spec, raw)
        except FieldError as exc:
            errors[f.name] = str(exc)
            bad.add(f.name)
            return []
        level = f.level
        out = []
        for i, raw_row in enumerate(rows):
            row = {c.name: None for c in level.fields}
            for key, rv in raw_row.items():
                c = level.by_name.get(key)
                path = f"{f.name}[{i}].{key}"
                if c is None:
                    errors[path] = UNKNOWN
                    continue
                if not c.accepts_input or (c.spec.readonly and not system):
                    continue
                try:
                    row[key] = c.ftype.parse(c.spec, rv)
                except FieldError as exc:
                    errors[path] = str(exc)
                    bad.add(path)
            out.append(row)
        return out

    def _derive(self, values: dict, call: _Call, create: bool, bad: set, fresh_rows: set,
                errors: dict) -> set:
        """Visibility, defaults and computes in dependency order; returns hidden paths."""
        hidden: set[str] = set()
        ctx = self._contexts.record(values, call)
        for f in self.level.order:
            name = f.name
            if f.visible_fn is not None and not self._eval_flag(f.visible_fn, ctx):
                hidden.add(name)
                values[name] = [] if f.level is not None else None
                continue
            if f.level is not None:
                rows = values[name]
                fill = create or name in fresh_rows
                for i, row in enumerate(rows):
                    self._derive_row(f, i, row, values, call, fill, bad, errors, hidden)
            elif f.compute_fn is not None:
                values[name] = self._evaluate(f, f.compute_fn, ctx, name, errors)
            elif create and f.has_default and name not in bad and f.ftype.empty(values[name]):
                values[name] = self._default(f, ctx, name, errors)
        return hidden

    def _derive_row(self, table: _Field, i: int, row: dict, parent: dict, call: _Call,
                    fill: bool, bad: set, errors: dict, hidden: set) -> None:
        ctx = self._contexts.row(row, table.level.names, parent, call)
        prefix = f"{table.name}[{i}]."
        for c in table.level.order:
            name = c.name
            if c.visible_fn is not None and not self._eval_flag(c.visible_fn, ctx):
                hidden.add(prefix + name)
                row[name] = None
                continue
            if c.compute_fn is not None:
                row[name] = self._evaluate(c, c.compute_fn, ctx, prefix + name, errors)
            elif fill and c.has_default and c.ftype.empty(row.get(name)) \
                    and prefix + name not in bad:
                row[name] = self._default(c, ctx, prefix + name, errors)

    def _default(self, f: _Field, ctx, path: str, errors: dict):
        if f.default_fn is None:
            literal = f.default_literal
            if literal is None:
                return None
            try:
                return f.ftype.parse(f.spec, literal)
            except FieldError as exc:
                errors[path] = f"default: {exc}"
                return None
        return self._evaluate(f, f.default_fn, ctx, path, errors)

    def _evaluate(self, f: _Field, fn, ctx, path: str, errors: dict):
        """An expression's result, converted to the field's type (decimals quantized)."""
        try:
            value = fn(ctx)
        except (ExpressionError, ArithmeticError) as exc:
            errors[path] = f"cannot be computed: {getattr(exc, 'message', None) or exc}"
            return None
        try:
            return coerce(f.ftype, f.spec, value)
        except FieldError as exc:
            errors[path] = str(exc)
            return None

    @staticmethod
    def _eval_flag(fn, ctx) -> bool:
        try:
            return bool(fn(ctx))
        except (ExpressionError, ArithmeticError):
            return False

    # --- validation -------------------------------------------------------------

    def _validate(self, values: dict, hidden: set, call: _Call, existing: Mapping | None,
                  errors: dict) -> None:
        ctx = self._contexts.record(values, call)
        for f in self.level.fields:
            name = f.name
            if name in hidden:
                continue
            value = values[name]
            if f.level is not None:
                self._validate_table(f, value, values, hidden, call, existing, errors)
                if name in errors:
                    continue
            elif name in errors:
                continue
            old = existing.get(name) if existing is not None else None
            self._validate_value(f, value, ctx, name, call, errors,
                                 lambda v, old=old: existing is None or v != old)

    def _validate_table(self, f: _Field, rows: list, parent: dict, hidden: set, call: _Call,
                        existing: Mapping | None, errors: dict) -> None:
        spec = f.spec
        n = len(rows)
        if f.name not in errors:
            if spec.min_rows and n < spec.min_rows:
                errors[f.name] = f"needs at least {_rows(spec.min_rows)}"
            elif spec.max_rows is not None and n > spec.max_rows:
                errors[f.name] = f"can have at most {_rows(spec.max_rows)}"
        # On update only new or changed links and users are checked: a record whose
        # linked record the editor can no longer read must still be editable.
        changed_by_cell: dict[str, Callable[[Any], bool]] = {}
        old_rows = (existing.get(f.name) or []) if existing is not None else []
        for c in f.level.fields:
            if existing is None or c.kind not in ("link", "user"):
                changed_by_cell[c.name] = _always
            else:
                seen = {r.get(c.name) for r in old_rows}
                changed_by_cell[c.name] = lambda v, seen=seen: v not in seen
        for i, row in enumerate(rows):
            ctx = self._contexts.row(row, f.level.names, parent, call)
            prefix = f"{f.name}[{i}]."
            for c in f.level.fields:
                path = prefix + c.name
                if path in hidden or path in errors:
                    continue
                changed = changed_by_cell[c.name]
                self._validate_value(c, row.get(c.name), ctx, path, call, errors, changed)

    def _validate_value(self, f: _Field, value, ctx, path: str, call: _Call, errors: dict,
                        changed: Callable[[Any], bool]) -> None:
        spec = f.spec
        if f.ftype.empty(value):
            if spec.required or (f.required_if_fn is not None
                                 and self._eval_flag(f.required_if_fn, ctx)):
                errors[path] = REQUIRED
            return
        if f.level is None:
            message = f.ftype.bounds(spec, value)
            if message:
                errors[path] = message
                return
        if f.kind == "link" and changed(value):
            if call.load(spec.to, value) is None:
                errors[path] = f"no {f.link_label} record with id {value}"
                return
        elif f.kind == "user" and changed(value):
            services = call.services
            if services is None or not services.user_exists(value):
                errors[path] = f"no user named {value}"
                return
        for fn, message in f.rules:
            try:
                ok = fn(ctx)
            except (ExpressionError, ArithmeticError):
                ok = False
            # Like SQL CHECK: an unknown (null) result does not fail the rule.
            if ok is not None and not ok:
                errors[path] = message.get(call.language)
                return

    def _ordered(self, errors: dict) -> dict:
        """Errors in field order (rows by index), unknown keys first."""
        index = {f.name: i for i, f in enumerate(self.level.fields)}
        child = {f.name: {c.name: j for j, c in enumerate(f.level.fields)}
                 for f in self.level.fields if f.level is not None}

        def key(path: str):
            head, _, rest = path.partition("[")
            if head not in index:
                return (-1, 0, 0, path)
            if not rest:
                return (index[head], -1, -1, path)
            num, _, cell = rest.partition("].")
            return (index[head], int(num) if num.isdigit() else 0,
                    child.get(head, {}).get(cell, len(child.get(head, ()))), path)

        return {k: errors[k] for k in sorted(errors, key=key)}

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

    # --- other views ------------------------------------------------------------

    def defaults(self, user, services) -> dict:
        """Initial values of a new blank record: defaults and computes, no validation."""
        call = _Call(services, user)
        values = {f.name: [] if f.level is not None else None for f in self.level.fields}
        self._derive(values, call, True, set(), set(), {})
        return values

    def visible_fields(self, values: Mapping, *, user=None, services=None) -> tuple[str, ...]:
        """Paths of the fields shown for these values, in form order (`lines[0].qty` for cells)."""
        call = _Call(services, user)
        values = dict(values)
        ctx = self._contexts.record(values, call)
        out = []
        for f in self.level.fields:
            if f.visible_fn is not None and not self._eval_flag(f.visible_fn, ctx):
                continue
            out.append(f.name)
            if f.level is not None and f.level.has_visibility:
                for i, row in enumerate(values.get(f.name) or ()):
                    rctx = self._contexts.row(row, f.level.names, values, call)
                    for c in f.level.fields:
                        if c.visible_fn is None or self._eval_flag(c.visible_fn, rctx):
                            out.append(f"{f.name}[{i}].{c.name}")
            elif f.level is not None:
                for i, _ in enumerate(values.get(f.name) or ()):
                    out.extend(f"{f.name}[{i}].{c.name}" for c in f.level.fields)
        return tuple(out)

    def dump(self, values: Mapping) -> dict:
        """Python values → JSON-safe values (Decimal → str, date → ISO); unknown keys kept."""
        dumpers = self._dumpers
        return {k: (dumpers[k](v) if k in dumpers else v) for k, v in values.items()}

    def load(self, data: Mapping) -> dict:
        """JSON values (from `dump`) → Python values; unknown keys kept as they are."""
        loaders = self._loaders
        return {k: (loaders[k](v) if k in loaders else v) for k, v in data.items()}

    def diff(self, old: Mapping, new: Mapping) -> dict:
        """`{field: [old_json, new_json]}` for every field that changed; tables as whole lists."""
        out = {}
        for f in self.level.fields:
            name = f.name
            a, b = old.get(name), new.get(name)
            if f.level is not None:
                a, b = a or [], b or []
            if a == b and type(a) is type(b):
                continue
            da, db = self._dumpers[name](a), self._dumpers[name](b)
            if da != db:
                out[name] = [da, db]
        return out

    def _converter(self, f: _Field, method: str):
        """A field's JSON conversion (`dump` or `load` of its type), tables row by row."""
        if f.level is None:
            convert, spec = getattr(f.ftype, method), f.spec
            return lambda v: None if v is None else convert(spec, v)
        cells = {c.name: self._converter(c, method) for c in f.level.fields}
        return lambda rows: [{k: (cells[k](x) if k in cells else x) for k, x in r.items()}
                             for r in rows or ()]


def _always(_value) -> bool:
    return True


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def coerce(ftype, spec, value):
    """An expression's result as a value of the field's type (not user input: no parsing of
    expressions, only of the value's shape). Decimals are quantized to the field's scale."""
    if value is None:
        return None
    quantize = getattr(ftype, "quantize", None)
    if quantize is not None and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        value = quantize(spec, Decimal(value))
        if abs(value) >= Decimal(10) ** (17 - ftype.scale(spec)):
            raise FieldError("is too large")
        return value
    if ftype.name == "integer" and isinstance(value, Decimal):
        return int(value.to_integral_value(rounding=ROUND_HALF_UP))
    if ftype.name == "date" and isinstance(value, datetime):
        return value.date()
    if ftype.name == "datetime" and type(value) is date:
        return datetime(value.year, value.month, value.day)
    return ftype.parse(spec, value)


def _context_classes():
    from ._context import Contexts

    return Contexts()
