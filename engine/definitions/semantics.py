"""Semantic checks: what JSON Schema cannot see, across files.

Runs after every file loaded, passed its schema and was built into the frozen
model. One module per kind does the work (`checks_form`, `checks_workflow`,
`checks_alert`, `checks_report`, `checks_app`, run in turn by `checks.py`);
this module holds what they share: the `Context` (problems, roles,
expression environments) and the problem codes.

Every problem points at the key or value at fault, or at the character inside
an expression, and carries a stable code:

    LOOM-E030 unknown form               LOOM-E048 approval step without actions
    LOOM-E031 unknown field              LOOM-E049 last branch of an action has `if`
    LOOM-E032 unknown role               LOOM-E050 unknown on-enter action kind
    LOOM-E033 expression type error      LOOM-E051 two workflows for one form
    LOOM-E034 condition not true/false   LOOM-E052 unknown notification channel
    LOOM-E035 value does not fit field   LOOM-E053 alert `enter:` unknown step
    LOOM-E036 unknown field type         LOOM-E054 cron expression
    LOOM-E037 link without `to`          LOOM-E055 `create` misses a required field
    LOOM-E038 choice without options     LOOM-E056 report source / table
    LOOM-E039 duplicate/reserved name    LOOM-E057 measure aggregate
    LOOM-E040 number pattern             LOOM-E058 unknown output column
    LOOM-E041 compute cycle              LOOM-E059 duplicate output column
    LOOM-E042 `default: phone` (text?)   LOOM-E060 tiles
    LOOM-E043 wrong kind of field        LOOM-E061 line items outside a lines source
    LOOM-E044 `start` is not a step      LOOM-E062 duplicate role
    LOOM-E045 action to unknown step     LOOM-E063 default_language not in languages
    LOOM-E046 unreachable step           LOOM-E064 (warning) label language unknown
    LOOM-E047 step with no way out       LOOM-E065 (warning) template placeholder
                                         LOOM-E066 (warning) final step with actions
                                         LOOM-E067 action named like a built-in one
                                         LOOM-E068 `update` needs one of id, where
                                         LOOM-E069 `where` never names `target`
                                         LOOM-E070 `create.lines` with `each` copies
                                                   the acting record's own table
    LOOM-E110 `update.line` without `table`       LOOM-E113 `update.line` is no line id
    LOOM-E111 `update.table` not a table of form  LOOM-E114 `from` names an unknown step
    LOOM-E112 line update needs `line` or         LOOM-E115 (warning) a step entered again
              `id` + `where`                                repeats side effects unguarded
    LOOM-E120 link to an unknown FORM.TABLE  LOOM-E121 `within` is no link to that form
    LOOM-E122 make_from: unknown source form or table
    LOOM-E123 make_from: unknown field       LOOM-E124 make_from: value does not fit
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..errors import ExpressionError, Problem
from ..expr import Env, default_functions, parse
from ..expr import types as T
from ..fields import expr_type_of, register_builtin_field_types
from ..registry import Registries
from .environment import SYSTEM_FIELDS
from .suggest import suggestion_suffix
from .yaml_source import SourceDoc

E_FORM = "LOOM-E030"
E_FIELD = "LOOM-E031"
E_ROLE = "LOOM-E032"
E_EXPR = "LOOM-E033"
E_CONDITION = "LOOM-E034"
E_VALUE_TYPE = "LOOM-E035"
E_FIELD_TYPE = "LOOM-E036"
E_LINK_TO = "LOOM-E037"
E_OPTIONS = "LOOM-E038"
E_DUPLICATE_FIELD = "LOOM-E039"
E_NUMBER = "LOOM-E040"
E_CYCLE = "LOOM-E041"
E_DEFAULT_TEXT = "LOOM-E042"
E_FIELD_KIND = "LOOM-E043"
E_START = "LOOM-E044"
E_STEP = "LOOM-E045"
E_UNREACHABLE = "LOOM-E046"
E_NO_WAY_OUT = "LOOM-E047"
E_APPROVAL_ACTIONS = "LOOM-E048"
E_LAST_BRANCH = "LOOM-E049"
E_ACTION_KIND = "LOOM-E050"
E_WORKFLOW_DUP = "LOOM-E051"
E_CHANNEL = "LOOM-E052"
E_ALERT_STEP = "LOOM-E053"
E_CRON = "LOOM-E054"
E_REQUIRED = "LOOM-E055"
E_SOURCE = "LOOM-E056"
E_MEASURE = "LOOM-E057"
E_COLUMN = "LOOM-E058"
E_COLUMN_DUP = "LOOM-E059"
E_TILES = "LOOM-E060"
E_LINE_ITEMS = "LOOM-E061"
E_ROLE_DUP = "LOOM-E062"
E_LANGUAGE = "LOOM-E063"
W_LABEL_LANGUAGE = "LOOM-E064"
W_TEMPLATE = "LOOM-E065"
W_FINAL_ACTIONS = "LOOM-E066"
E_BUILTIN_ACTION = "LOOM-E067"
E_UPDATE_TARGET = "LOOM-E068"
E_WHERE_TARGET = "LOOM-E069"
E_CREATE_LINES = "LOOM-E070"
E_BOUNDS = "LOOM-E071"
E_LINE_NO_TABLE = "LOOM-E110"
E_LINE_TABLE = "LOOM-E111"
E_LINE_TARGET = "LOOM-E112"
E_LINE_ID = "LOOM-E113"
E_FROM_STEP = "LOOM-E114"
W_REENTRY = "LOOM-E115"
E_LINE_TO = "LOOM-E120"
E_WITHIN = "LOOM-E121"
E_MAKE_FROM = "LOOM-E122"
E_MAKE_FROM_FIELD = "LOOM-E123"
E_MAKE_FROM_TYPE = "LOOM-E124"
E_FILE_KEYS = "LOOM-E165"  # uxpages: multiple/max_size/accept on a field that is not a file

BUILTIN_ACTIONS = ("set", "create", "update", "notify")
BUILTIN_CHANNELS = ("inbox", "email", "webhook")
# Actions every approval step has without declaring them, and the owner's withdraw.
APPROVER_ACTIONS = ("transfer", "add_signer", "comment", "cc")
OWNER_ACTIONS = ("withdraw",)
OWNER = "owner"  # not a role: the record's owner, allowed wherever roles are listed

_BOOLEANISH = frozenset({T.BOOLEAN, T.ANY, T.NULL})
_NOT_SCALAR = frozenset({T.LIST, T.TABLE, T.ROW})


def value_at(doc: SourceDoc, path: tuple) -> Any:
    """The raw YAML value at `path`, or None."""
    node = doc.data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def names_at(doc: SourceDoc, path: tuple) -> list[tuple[tuple, str]]:
    """(path, name) for a `names` slot that is one string or a list of them."""
    raw = value_at(doc, path)
    if raw is None:
        return []
    if isinstance(raw, list):
        return [(path + (i,), str(v)) for i, v in enumerate(raw)]
    return [(path, str(raw))]


def expr_text(doc: SourceDoc, path: tuple, expr) -> str:
    raw = value_at(doc, path)
    return raw if isinstance(raw, str) else getattr(expr, "source", str(raw))


def assignable(target: T.Type, value: T.Type) -> bool:
    """May a value of type `value` be stored in a field typed `target`?"""
    tk, vk = target.kind, value.kind
    if tk == T.ANY or vk in (T.ANY, T.NULL):
        return True
    if target.is_numeric:
        return value.is_numeric
    if tk in (T.TEXT, T.USER):
        return vk in (T.TEXT, T.USER)
    if tk in (T.DATE, T.DATETIME):
        return vk in (T.DATE, T.DATETIME)
    if tk == T.LINK and "." in (target.form or ""):  # a line link: a line's id, or the row
        return (vk == T.LINK and value.form == target.form) or vk in (T.TEXT, T.ROW)
    if tk == T.LINK:
        return (vk == T.LINK and value.form == target.form) or vk == T.INTEGER
    if tk == T.LIST:
        return vk == T.LIST
    return tk == vk


def literal_type(value: Any) -> T.Type:
    if value is None:
        return T.t(T.NULL)
    if isinstance(value, bool):
        return T.t(T.BOOLEAN)
    if isinstance(value, int):
        return T.t(T.INTEGER)
    if isinstance(value, float):
        return T.t(T.DECIMAL)
    if isinstance(value, list):
        return T.list_of(T.t(T.ANY))
    return T.t(T.ANY)


def type_name(t: T.Type) -> str:
    return str(t)


def spec_registries() -> Registries:
    """The registries a check needs when the caller gives none: built-in field types and
    functions. Step actions and channels are runtime packages above this layer, so their
    names come from BUILTIN_ACTIONS / BUILTIN_CHANNELS instead (plugins' are not known)."""
    regs = Registries(functions=default_functions())
    register_builtin_field_types(regs.field_types)
    return regs


class Context:
    """Everything the per-kind checks share while checking one tree."""

    def __init__(self, defs, docs: Mapping[str, Mapping[str, SourceDoc]], registries):
        if registries is None:
            registries = spec_registries()
        self.defs = defs
        self.docs = docs
        self.registries = registries
        self.field_types = registries.field_types
        self.functions = registries.functions
        self.problems: list[Problem] = []
        self.has_app = bool(docs.get("app"))
        self.roles: frozenset[str] = defs.app.role_names
        self.form_types: dict[str, dict[str, T.Type]] = {}
        self._envs: dict = {}
        self._workflow_by_form: dict[str, Any] = {}
        for wf in defs.workflows.values():
            self._workflow_by_form.setdefault(wf.form, wf)
        for fid, form in defs.forms.items():
            names = dict(SYSTEM_FIELDS)
            wf = self._workflow_by_form.get(fid)
            if wf is not None:
                names["state"] = T.Type(T.TEXT, options=tuple(wf.steps))
            for f in form.fields:
                names[f.name] = expr_type_of(f, self.field_types)
            self.form_types[fid] = names
        for fid in defs.forms:
            self.form_types.update(T.line_types(fid, self.form_types[fid]))

    # --- problems -------------------------------------------------------------

    def add(self, doc: SourceDoc, path: tuple, message: str, code: str, *, key: bool = False,
            offset: int | None = None, severity: str = "error") -> None:
        self.problems.append(doc.problem(path, message, code, key=key, offset=offset,
                                         severity=severity))

    # --- names ------------------------------------------------------------------

    def workflow_for(self, form_id: str):
        return self._workflow_by_form.get(form_id)

    def check_form_ref(self, doc: SourceDoc, path: tuple, form_id: Any, what: str = "form") -> bool:
        """True when `form_id` names a form; reports it otherwise."""
        if form_id in self.defs.forms:
            return True
        self.add(doc, path, f"unknown {what} {str(form_id)!r}"
                 f"{suggestion_suffix(str(form_id), self.defs.forms)}", E_FORM)
        return False

    def check_role(self, doc: SourceDoc, path: tuple, name: str, *, owner: bool = True,
                   offset: int | None = None) -> None:
        if not self.has_app or name in self.roles or (owner and name == OWNER):
            return
        candidates = sorted(self.roles) + ([OWNER] if owner else [])
        self.add(doc, path, f"unknown role {name!r}{suggestion_suffix(name, candidates)} "
                 "(roles are listed in app.yaml)", E_ROLE, offset=offset)

    def check_roles(self, doc: SourceDoc, path: tuple, *, owner: bool = True) -> None:
        for p, name in names_at(doc, path):
            self.check_role(doc, p, name, owner=owner)

    def user_field_problem(self, form_id: str, name: str, what: str) -> str | None:
        """Why `name` is not a user field of `form_id` (None when it is one)."""
        types = self.form_types.get(form_id, {})
        t = types.get(name)
        if t is None:
            fields = [n for n, ft in types.items() if ft.kind == T.USER]
            return (f"{what}: form {form_id!r} has no field {name!r}"
                    f"{suggestion_suffix(name, fields)}")
        if t.kind != T.USER and not (t.kind == T.LIST and t.item is not None
                                     and t.item.kind == T.USER):
            return f"{what}: {name!r} is a {t} field, not a user field"
        return None

    # --- expressions ----------------------------------------------------------

    def env(self, form_id: str | None, table: str | None = None,
            extra: Mapping[str, T.Type] | None = None, *, parent_bare: bool = True) -> Env:
        """Names an expression on a record of `form_id` (or one of its `table` rows) sees.

        On a row, bare names are the row's fields, then the parent record's
        fields that the row does not shadow, and `parent` is the parent record.
        """
        # Row types compare equal whatever their fields (fields has compare=False),
        # so the fields are part of the key: `line` of two tables is two envs.
        key = (form_id, table, tuple(sorted(((k, v, v.fields) for k, v in (extra or {}).items()),
                                            key=lambda kv: kv[0])), parent_bare)
        hit = self._envs.get(key)
        if hit is not None:
            return hit
        names: dict[str, T.Type] = {}
        if form_id is not None and form_id in self.form_types:
            base = self.form_types[form_id]
            if table is None:
                names.update(base)
            else:
                if parent_bare:
                    names.update(base)
                row = base.get(table)
                if row is not None and row.kind == T.TABLE and row.item is not None:
                    names.update(row.item.field_map())
                names["parent"] = T.link(form_id)
        names["user"] = T.t(T.USER)
        if extra:
            names.update(extra)
        env = Env(names=names, forms=self.form_types)
        self._envs[key] = env
        return env

    def check_expr(self, doc: SourceDoc, path: tuple, expr, env: Env) -> T.Type | None:
        """The expression's type, or None after reporting why it does not check."""
        if expr is None:
            return None
        try:
            return expr.check(env, self.functions)
        except ExpressionError as exc:
            text = expr_text(doc, path, expr)
            self.add(doc, path, f"expression {text!r}: {exc.message}", E_EXPR,
                     offset=exc.offset)
            return None

    def check_condition(self, doc: SourceDoc, path: tuple, expr, env: Env, what: str) -> None:
        t = self.check_expr(doc, path, expr, env)
        if t is None or t.kind in _BOOLEANISH:
            return
        text = expr_text(doc, path, expr)
        example = f"{text} > 0" if t.is_numeric else f"{text} != None"
        self.add(doc, path, f"{what} must be true or false, but {text!r} is {t}; write a "
                 f"comparison such as {example!r}", E_CONDITION)

    def check_value(self, doc: SourceDoc, path: tuple, value, env: Env, target: T.Type | None,
                    field_desc: str) -> None:
        """A value slot (default, set, create.values): a literal or an expression."""
        if value is None:
            return
        if value.is_expr:
            t = self.check_expr(doc, path, value.expr, env)
        elif isinstance(value_at(doc, path), str):
            return  # the expression did not parse; the builder reported it
        else:
            t = literal_type(value.literal)
        if t is None or target is None or assignable(target, t):
            return
        self.add(doc, path, f"{field_desc} is {target}, but this value is {t}", E_VALUE_TYPE)

    def check_template(self, doc: SourceDoc, path: tuple, text: Any, env: Env) -> None:
        """`{{ expr }}` placeholders of a subject or body (warnings: rendering is lenient)."""
        if not isinstance(text, str) or "{{" not in text:
            return
        start = 0
        while True:
            i = text.find("{{", start)
            if i < 0:
                return
            j = text.find("}}", i + 2)
            if j < 0:
                self.add(doc, path, "a '{{' placeholder is not closed with '}}'", W_TEMPLATE,
                         offset=i, severity="warning")
                return
            inner = text[i + 2:j]
            lead = len(inner) - len(inner.lstrip())
            try:
                parse(inner.strip()).check(env, self.functions)
            except ExpressionError as exc:
                self.add(doc, path, f"placeholder {{{{{inner.strip()}}}}}: {exc.message}",
                         W_TEMPLATE, offset=i + 2 + lead + exc.offset, severity="warning")
            start = j + 2

    def check_recipient(self, doc: SourceDoc, path: tuple, form_id: str | None,
                        spec, what: str) -> None:
        """An approvers / notify `to` / escalate_to block: {role} {users} {field} {manager_of}."""
        raw = value_at(doc, path)
        if not isinstance(raw, dict) or spec is None:
            return
        if spec.role is not None:
            self.check_role(doc, path + ("role",), str(spec.role), owner=False)
        if form_id is None or form_id not in self.form_types:
            return
        if spec.field is not None:
            why = self.user_field_problem(form_id, str(spec.field), what)
            if why:
                self.add(doc, path + ("field",), why, E_FIELD_KIND)
        if spec.manager_of is not None and spec.manager_of != OWNER:
            why = self.user_field_problem(form_id, str(spec.manager_of), f"{what} manager_of")
            if why:
                self.add(doc, path + ("manager_of",), f"{why}; write manager_of: owner or "
                         "name a user field", E_FIELD_KIND)

    def check_channels(self, doc: SourceDoc, path: tuple) -> None:
        known = list(self.registries.channels) or list(BUILTIN_CHANNELS)
        for p, name in names_at(doc, path):
            if name not in known:
                self.add(doc, p, f"unknown channel {name!r} (the channels are "
                         f"{', '.join(sorted(known))}){suggestion_suffix(name, known)}", E_CHANNEL)

    def action_kinds(self) -> list[str]:
        return list(self.registries.actions) or list(BUILTIN_ACTIONS)


def field_paths(fields: Iterable, base: tuple = ("fields",)):
    """(FieldSpec, yaml path) of each field, in order; table children are not included."""
    for i, f in enumerate(fields):
        yield f, base + (i,)
