"""Frozen, typed definitions. Runtime code reads these, never raw YAML dicts.

Expressions are parsed at load time (`Expr` objects from engine.expr); a value
slot (`default`, `set`, `create.values`) holds a `Value`: either a literal from
YAML (number, boolean, null) or an expression (a YAML string).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable, Mapping

from ..expr import Expr


@dataclass(frozen=True)
class Label:
    """A text in one or more languages: `Expense claim` or `{en: Expense claim, zh: 报销单}`."""

    texts: tuple = ()  # ((lang, text), ...); a plain string is stored under "*"

    @classmethod
    def of(cls, value: Any, fallback: str = "") -> "Label":
        if value is None:
            return cls((("*", fallback),)) if fallback else cls()
        if isinstance(value, dict):
            return cls(tuple((str(k), str(v)) for k, v in value.items()))
        return cls((("*", str(value)),))

    def get(self, language: str | None = None, default_language: str = "en") -> str:
        texts = dict(self.texts)
        for lang in (language, default_language, "*", "en"):
            if lang and lang in texts:
                return texts[lang]
        return next(iter(texts.values()), "")

    def __str__(self) -> str:
        return self.get()

    def __bool__(self) -> bool:
        return bool(self.texts)


@dataclass(frozen=True)
class Value:
    """A value slot: a YAML literal, or an expression when the YAML held a string."""

    literal: Any = None
    expr: Expr | None = None

    @property
    def is_expr(self) -> bool:
        return self.expr is not None


@dataclass(frozen=True)
class Source:
    """Where a definition came from, for messages."""

    file: str
    line: int = 1
    col: int = 1


@dataclass(frozen=True)
class RoleSpec:
    name: str
    label: Label
    include: tuple[str, ...] = ()  # roles this one has too (a role group: team_lead includes staff)


@dataclass(frozen=True)
class AppSpec:
    name: str
    title: Label
    roles: tuple[RoleSpec, ...]
    languages: tuple[str, ...] = ("en",)
    default_language: str = "en"
    plugins: tuple[str, ...] = ()
    source: Source | None = None
    demo: str | None = None  # absolute path of the app's demo seed module (app.yaml `demo`)
    require_2fa: tuple[str, ...] = ()  # roles ("admin": administrators) that must use two-factor login

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.roles)

    @functools.cached_property
    def _closure(self) -> Mapping[str, frozenset[str]]:
        """Each role and every role it includes, transitively. A cycle (a `loom check`
        error) ends the walk instead of looping; unknown names are carried as they are."""
        includes = {r.name: r.include for r in self.roles}
        closure = {}
        for name in includes:
            seen, todo = {name}, list(includes[name])
            while todo:
                role = todo.pop()
                if role not in seen:
                    seen.add(role)
                    todo.extend(includes.get(role, ()))
            closure[name] = frozenset(seen)
        return closure

    def expand_roles(self, roles: Iterable[str]) -> frozenset[str]:
        """The roles a user holding `roles` acts with: those and every role they include."""
        closure = self._closure
        out: set[str] = set()
        for role in roles:
            out |= closure.get(role, {role})
        return frozenset(out)

    def holders_of(self, role: str) -> frozenset[str]:
        """The roles whose holders act as `role`: itself and every role that includes it."""
        return frozenset({role} | {name for name, has in self._closure.items() if role in has})


@dataclass(frozen=True)
class Rule:
    rule: Expr
    message: Label


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # a key of the field-type registry
    label: Label
    required: bool = False
    required_if: Expr | None = None
    visible_if: Expr | None = None
    default: Value | None = None
    compute: Expr | None = None
    readonly: bool = False
    validate: tuple[Rule, ...] = ()
    options: tuple[str, ...] = ()  # choice / multichoice
    option_labels: tuple = ()  # ((option, Label), ...)
    to: str | None = None  # link target form
    min: Any = None
    max: Any = None
    min_rows: int | None = None
    max_rows: int | None = None
    max_length: int | None = None
    scale: int | None = None  # decimal places for money/decimal/percent
    unique: bool = False
    help: Label = field(default_factory=Label)
    fields: tuple["FieldSpec", ...] = ()  # table: the line-item fields
    source: Source | None = None
    read: tuple[str, ...] = ()  # roles (or owner) who may see the field; empty: every reader
    edit: tuple[str, ...] = ()  # roles (or owner) who may change it; empty: every editor

    @property
    def is_table(self) -> bool:
        return self.type == "table"

    def field(self, name: str) -> "FieldSpec | None":
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True)
class Permissions:
    create: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()  # soft delete (the trash), in the steps that allow it
    rows: Expr | None = None  # row-level read filter
    reassign: tuple[str, ...] = ()  # roles that may hand any record over, besides owner, manager, admins


@dataclass(frozen=True)
class ArchiveRule:
    """`archive: {after: 365d, if: "..."}`: final records unchanged for `after` move to the archive.

    A record qualifies when its workflow (if any) has ended (a final step, or one with no
    actions), its last change is older than `after`, and `if_` (when given) holds.
    """

    after: timedelta
    if_: Expr | None = None
    source: Source | None = None


@dataclass(frozen=True)
class FormSpec:
    id: str
    title: Label
    fields: tuple[FieldSpec, ...]
    number: str | None = None
    title_field: str | None = None
    indexes: tuple[str, ...] = ()
    permissions: Permissions = field(default_factory=Permissions)
    description: Label = field(default_factory=Label)
    source: Source | None = None
    archive: ArchiveRule | None = None
    owner_field: str | None = None  # a user field that follows the owner on `reassign`

    def field(self, name: str) -> FieldSpec | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def tables(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.is_table)


# --- workflows -------------------------------------------------------------


@dataclass(frozen=True)
class Branch:
    """One target of an action: go `to` when `if_` holds (or always when None)."""

    to: str
    if_: Expr | None = None


@dataclass(frozen=True)
class ActionSpec:
    name: str
    branches: tuple[Branch, ...]
    by: tuple[str, ...] = ()  # role names, or "owner"; empty = approvers (in approval steps)
    comment: str = "optional"  # "required" | "optional" | "none"
    label: Label = field(default_factory=Label)
    confirm: Label = field(default_factory=Label)


@dataclass(frozen=True)
class ApproverSpec:
    role: str | None = None
    users: tuple[str, ...] = ()
    field: str | None = None
    manager_of: str | None = None  # "owner" or a user-valued field


@dataclass(frozen=True)
class RecipientSpec:
    role: str | None = None
    users: tuple[str, ...] = ()
    field: str | None = None
    manager_of: str | None = None


@dataclass(frozen=True)
class OverdueSpec:
    remind_every: timedelta | None = None
    escalate_to: ApproverSpec | None = None
    after: timedelta | None = None


@dataclass(frozen=True)
class StepAction:
    """An on-enter action: `kind` is a key of the action registry; `args` are typed per kind."""

    kind: str
    args: Any
    source: Source | None = None
    if_: Expr | None = None  # plugin actions' `if`; built-in kinds keep theirs in `args`


@dataclass(frozen=True)
class SetArgs:
    values: tuple  # ((field, Value), ...)
    if_: Expr | None = None  # set only when this holds for the record


@dataclass(frozen=True)
class LinesArgs:
    """`create.lines`: fill table `table` of the new record, one row per row of `from_`.

    `from_` is a table field of the acting record (`lines`) or a dotted path
    that reaches a table through links (`item.kit.parts`, with `each`
    `line.item.kit.parts`); `source` is that path as an expression.
    In `values` and `if`, `line` is the source row and, with `each`, `outer`
    is the acting record's current line.
    """

    table: str  # a table field of the created record
    from_: str  # the path to the source table, as written
    values: tuple  # ((row field, Value), ...)
    if_: Expr | None = None  # copy only the rows for which this holds
    source: Expr | None = None  # `from_` parsed; None when it did not parse

    @property
    def through_links(self) -> bool:
        """Whether `from_` is a dotted path (a linked record's table), not a table of our own."""
        return "." in self.from_


@dataclass(frozen=True)
class CreateArgs:
    form: str
    values: tuple  # ((field, Value), ...)
    each: str | None = None  # a table field of the acting record: one record per line
    if_: Expr | None = None  # create only when this holds (per line with `each`)
    lines: LinesArgs | None = None  # line items of the new record from a table (see LinesArgs)


@dataclass(frozen=True)
class UpdateArgs:
    form: str
    id: Expr | None  # the target's id; None when `where` finds it
    values: tuple  # ((field, Value), ...); `target` is the record being updated
    each: str | None = None  # a table field: `line` is the current line item
    where: Expr | None = None  # finds the one target by its fields (`target.x`), in SQL
    if_: Expr | None = None  # update only when this holds (per line with `each`)


@dataclass(frozen=True)
class NotifyArgs:
    to: RecipientSpec
    subject: str
    body: str = ""
    channels: tuple[str, ...] = ("inbox",)
    if_: Expr | None = None  # notify only when this holds


@dataclass(frozen=True)
class StepSpec:
    name: str
    title: Label
    actions: Mapping[str, ActionSpec]
    edit: tuple[str, ...] = ()  # who may edit in this step: roles or owner
    # `edit: {role: [field, ...]}`: ((who, fields), ...); a role listed here may change only
    # its fields. Empty when `edit` is a plain list (whoever it names edits every field).
    edit_fields: tuple[tuple[str, tuple[str, ...]], ...] = ()
    approvers: ApproverSpec | None = None
    mode: str = "any"  # any (或签) | all (会签)
    due: timedelta | None = None
    on_overdue: OverdueSpec | None = None
    on_enter: tuple[StepAction, ...] = ()
    final: bool = False
    allow_self_approval: bool = False
    source: Source | None = None
    delete: tuple[str, ...] | None = None  # who may delete here; None: the form's list, start step only

    @property
    def is_approval(self) -> bool:
        return self.approvers is not None


@dataclass(frozen=True)
class WorkflowSpec:
    id: str
    form: str
    start: str
    steps: Mapping[str, StepSpec]
    title: Label = field(default_factory=Label)
    version: str = ""  # content hash of the definition file
    source: Source | None = None

    def step(self, name: str) -> StepSpec | None:
        return self.steps.get(name)


# --- alerts -----------------------------------------------------------------


@dataclass(frozen=True)
class TriggerSpec:
    kind: str  # create | change | enter | schedule
    step: str | None = None  # enter:<step>
    cron: str | None = None  # schedule


@dataclass(frozen=True)
class AlertNotify:
    to: RecipientSpec
    channels: tuple[str, ...] = ("inbox",)
    subject: str = ""
    body: str = ""
    webhook: str | None = None  # URL for the webhook channel


@dataclass(frozen=True)
class AlertSpec:
    id: str
    form: str
    on: TriggerSpec
    if_: Expr | None
    once: bool = False
    notify: AlertNotify | None = None
    create: CreateArgs | None = None
    actions: tuple[StepAction, ...] = ()  # plugin-registered actions
    title: Label = field(default_factory=Label)
    source: Source | None = None


# --- reports ----------------------------------------------------------------


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str  # a field type: date, text, integer, choice, ...
    label: Label
    default: Value | None = None
    options: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class Column:
    """A group_by key, a listed column, or a measure."""

    name: str
    expr: Expr | None
    label: Label
    agg: str | None = None  # measures: count | count_distinct | sum | avg | min | max | None (an expression over other measures)


@dataclass(frozen=True)
class ChartSpec:
    type: str  # bar | line | pie | table
    x: str | None = None
    y: tuple[str, ...] = ()
    series: str | None = None


@dataclass(frozen=True)
class ReportSpec:
    id: str
    title: Label
    source: str | None = None  # form id
    lines: str | None = None  # table field when the source is `form.lines`
    filter: Expr | None = None
    where: Expr | None = None
    params: tuple[ParamSpec, ...] = ()
    group_by: tuple[Column, ...] = ()
    measures: tuple[Column, ...] = ()
    columns: tuple[Column, ...] = ()
    having: Expr | None = None
    order_by: tuple = ()  # ((name, descending), ...)
    limit: int | None = None
    chart: ChartSpec | None = None
    tiles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()  # roles that may run it; empty = readers of the source
    source_file: Source | None = None

    @property
    def is_dashboard(self) -> bool:
        return bool(self.tiles)
