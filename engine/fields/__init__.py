"""Field types: what each kind of form field is and how every surface treats it.

Bottom layer beside `engine.expr` and `engine.store`: it imports nothing of the
engine but the expression types, so definitions, store and runtime can all use it.
One module per family; `base.FieldType` lists the surfaces a type answers.
"""
from .base import MAX_ID as MAX_ID
from .base import FieldError as FieldError
from .base import FieldType as FieldType
from .base import Labels as Labels
from .base import PlainLabels as PlainLabels
from .boolean import BooleanType as BooleanType
from .builtin import BUILTIN_FIELD_TYPES as BUILTIN_FIELD_TYPES
from .builtin import expr_type_of as expr_type_of
from .builtin import register_builtin_field_types as register_builtin_field_types
from .choice import ChoiceType as ChoiceType
from .choice import MultiChoiceType as MultiChoiceType
from .file import FileType as FileType
from .link import LinkType as LinkType
from .number import DecimalType as DecimalType
from .number import IntegerType as IntegerType
from .number import MoneyType as MoneyType
from .number import PercentType as PercentType
from .table import TableType as TableType
from .temporal import DateTimeType as DateTimeType
from .temporal import DateType as DateType
from .text import EmailType as EmailType
from .text import PhoneType as PhoneType
from .text import TextareaType as TextareaType
from .text import TextType as TextType
from .text import UserType as UserType
