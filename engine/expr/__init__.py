"""The expression language: one safe subset of Python expressions everywhere."""
from . import types as types
from .checker import Env as Env
from .context import EvalContext as EvalContext
from .context import MappingContext as MappingContext
from .expr import Expr as Expr
from .functions import Function as Function
from .functions import Functions as Functions
from .builtins import default_functions as default_functions
from .parser import parse as parse
from .sql import SqlScope as SqlScope
from .sql import SqlTerm as SqlTerm
from .sql import apply_aggregate as apply_aggregate
from .sql import to_python as to_python
