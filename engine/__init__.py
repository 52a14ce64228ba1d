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
    # Kept lazy on purpose (the one function-level import of this package, allow-listed in
    # tests/test_layers.py): every `import engine.<anything>` runs this file first, and the
    # facade pulls in every runtime package, SQLAlchemy, transitions and croniter. Measured
    # with `python -X importtime` on the shared 2-core machine: `import engine.errors` takes
    # 12-43 ms, `import engine.engine` 1.6-2.3 s. Plugins, `bench/expr_bench.py` and the
    # expression tests import only the bottom layers and should not pay for the facade.
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(name)
