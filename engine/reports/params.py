"""Report parameters: the reader's raw values parsed by the param's field type.

A parameter is typed like a form field (`date`, `choice`, `money`, ...), so
the same parser that checks form input checks it; whatever it refuses is a
`BadParameter` (a 400) naming the parameter. Values reach SQL only as bound
parameters (see engine/store/sqlscope.py `_bound`).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..definitions import model as m
from ..errors import BadParameter
from ..expr import Env, MappingContext
from ..expr import types as T
from ..fields import FieldError, expr_type_of


class ParamSet:
    """The declared params of one report, ready to resolve raw input."""

    def __init__(self, params: tuple[m.ParamSpec, ...], registries, forms: Mapping):
        self.registries = registries
        self.specs = {p.name: p for p in params}
        self.fields = {p.name: m.FieldSpec(name=p.name, type=p.type, label=p.label,
                                           options=p.options) for p in params}
        self.types: dict[str, T.Type] = {
            name: expr_type_of(f, registries.field_types) for name, f in self.fields.items()}
        env = Env(names={"user": T.t(T.USER)}, forms=forms)
        self._defaults = {}
        for p in params:
            if p.default is not None and p.default.is_expr:
                self._defaults[p.name] = p.default.expr.compile_python(env, registries.functions)

    def names(self) -> list[str]:
        return list(self.specs)

    def resolve(self, raw: Mapping[str, Any] | None, *, user, clock,
                strict: bool = True) -> dict[str, tuple[Any, T.Type]]:
        """name → (value, type) for every declared param; BadParameter for bad input.

        `strict`: unknown names are an error (a dashboard passes its params to
        tiles non-strictly: a tile takes the ones it declares).
        """
        raw = dict(raw or {})
        if strict:
            unknown = sorted(k for k in raw if k not in self.specs)
            if unknown:
                takes = ", ".join(self.specs) or "no parameters"
                raise BadParameter(f"unknown parameter {unknown[0]!r}; this report takes {takes}",
                                   unknown[0])
        out = {}
        for name, spec in self.specs.items():
            value = raw.get(name)
            if isinstance(value, str) and value.strip() == "":
                value = None
            field = self.fields[name]
            ft = self.registries.field_types[spec.type]
            if value is None:
                value = self._default(spec, user, clock)
            try:
                value = None if value is None else ft.parse(field, value)
            except FieldError as exc:
                raise BadParameter(f"parameter {name!r}: {exc}", name) from None
            if value is not None and spec.options and value not in spec.options:
                raise BadParameter(f"parameter {name!r}: {value!r} is not one of "
                                   f"{', '.join(spec.options)}", name)
            if value is None and spec.required:
                raise BadParameter(f"parameter {name!r} is required", name)
            out[name] = (value, self.types[name])
        return out

    def _default(self, spec: m.ParamSpec, user, clock) -> Any:
        if spec.default is None:
            return None
        fn = self._defaults.get(spec.name)
        if fn is None:
            return spec.default.literal
        return fn(MappingContext({}, user=user, clock=clock))
