"""The built-in field types, registered exactly as a plugin registers its own."""
from __future__ import annotations

from ..expr import types as T
from .boolean import BooleanType
from .choice import ChoiceType, MultiChoiceType
from .file import FileType
from .link import LineLinkType, LinkType
from .number import DecimalType, IntegerType, MoneyType, PercentType
from .table import TableType
from .temporal import DateTimeType, DateType
from .text import EmailType, PhoneType, TextareaType, TextType, UserType

BUILTIN_FIELD_TYPES = (
    TextType(), TextareaType(), EmailType(), PhoneType(), IntegerType(), DecimalType(),
    MoneyType(), PercentType(), BooleanType(), DateType(), DateTimeType(), ChoiceType(),
    MultiChoiceType(), UserType(), LinkType(), LineLinkType(), FileType(), TableType(),
)


def register_builtin_field_types(registry) -> None:
    for ft in BUILTIN_FIELD_TYPES:
        registry.register(ft.name, ft)


def expr_type_of(field, field_types) -> T.Type:
    """The expression type of a field, recursing into line-item tables."""
    if field.type == "table":
        return T.table({c.name: expr_type_of(c, field_types) for c in field.fields})
    ft = field_types.get(field.type)
    if ft is None:
        return T.t(T.ANY)
    return ft.expr_type(field)
