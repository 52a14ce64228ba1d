"""Static types of the expression language.

Every field type maps to one of these; the checker infers the type of every
sub-expression so that `due_date >= 'abc'` or `total + project` are caught
by `loom check`, not at run time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# Scalar kinds. money, decimal and percent are exact decimals (Decimal in
# Python, scaled BIGINT in typed storage); percent values are fractions
# (12.5 % is 0.125), as in a spreadsheet.
TEXT = "text"
INTEGER = "integer"
DECIMAL = "decimal"
MONEY = "money"
PERCENT = "percent"
BOOLEAN = "boolean"
DATE = "date"
DATETIME = "datetime"
USER = "user"  # a username; attributes: name, email, language, manager, roles
LINK = "link"  # a record id of `form`; attributes: that form's fields
LIST = "list"  # values of `item` (multichoice, `lines.amount`, literal lists)
ROW = "row"  # one line item; attributes: `fields`
TABLE = "table"  # the line items of a table field: a list of ROW
NULL = "null"
ANY = "any"

NUMERIC = frozenset({INTEGER, DECIMAL, MONEY, PERCENT})
DECIMALS = frozenset({DECIMAL, MONEY, PERCENT})


@dataclass(frozen=True)
class Type:
    kind: str
    form: str | None = None  # LINK: target form id
    item: "Type | None" = None  # LIST: element type
    fields: tuple = field(default=(), compare=False)  # ROW/TABLE: ((name, Type), ...)
    options: tuple = field(default=(), compare=False)  # TEXT from a choice field: allowed values

    def __str__(self) -> str:
        if self.kind == LINK:
            return f"link to {self.form}"
        if self.kind == LIST and self.item is not None:
            return f"list of {self.item}"
        return self.kind

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC

    def field_map(self) -> Mapping[str, "Type"]:
        return dict(self.fields)


def t(kind: str) -> Type:
    return _SCALARS[kind]


_SCALARS = {k: Type(k) for k in (TEXT, INTEGER, DECIMAL, MONEY, PERCENT, BOOLEAN, DATE,
                                    DATETIME, USER, NULL, ANY)}


def link(form: str) -> Type:
    return Type(LINK, form=form)


def list_of(item: Type) -> Type:
    return Type(LIST, item=item)


def row(fields: Mapping[str, Type]) -> Type:
    return Type(ROW, fields=tuple(fields.items()))


def table(fields: Mapping[str, Type]) -> Type:
    return Type(TABLE, item=row(fields), fields=tuple(fields.items()))


USER_ATTRIBUTES: Mapping[str, Type] = {
    "name": t(TEXT), "email": t(TEXT), "language": t(TEXT), "manager": t(USER),
    "roles": list_of(t(TEXT)),
}


def line_types(form_id: str, names: Mapping[str, Type]) -> dict[str, dict[str, Type]]:
    """`FORM.TABLE` → what a link to one line of that table reaches: the line's fields,
    `id` (its `_id`) and `record` (a link to the record the line belongs to)."""
    out = {}
    for name, typ in names.items():
        if typ.kind == TABLE and typ.item is not None:
            out[f"{form_id}.{name}"] = {**typ.item.field_map(), "id": t(TEXT),
                                        "record": link(form_id)}
    return out
