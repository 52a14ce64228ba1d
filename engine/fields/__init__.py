"""Field types: what each kind of form field is (parse, store, SQL, expression type).

Bottom layer beside `engine.expr` and `engine.store`: it imports nothing of the
engine but the expression types, so definitions, store and runtime can all use it.
"""
from .builtin import MAX_ID as MAX_ID
from .builtin import FieldError as FieldError
from .builtin import FieldType as FieldType
from .builtin import IntegerType as IntegerType
from .builtin import expr_type_of as expr_type_of
from .builtin import register_builtin_field_types as register_builtin_field_types
