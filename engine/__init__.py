"""Loom: forms, approval workflows, alerts and reports defined in YAML.

The public surface is the Engine facade and the error types; everything else
is internal to the engine's packages.
"""
from .errors import ActionRefused as ActionRefused
from .errors import BadParameter as BadParameter
from .errors import BadRequest as BadRequest
from .errors import Conflict as Conflict
from .errors import DefinitionError as DefinitionError
from .errors import ExpressionError as ExpressionError
from .errors import Locked as Locked
from .errors import LoomError as LoomError
from .errors import NotAuthenticated as NotAuthenticated
from .errors import NotFound as NotFound
from .errors import PermissionDenied as PermissionDenied
from .errors import Problem as Problem
from .errors import ValidationFailed as ValidationFailed


def __getattr__(name):
    # The facade imports every runtime package; load it on first use so that
    # `import engine.errors` (or the expression language) stays light.
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(name)
