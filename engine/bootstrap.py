"""Assembles an Engine's registries: the built-ins, then any installed plugins.

This is the one module that knows every package holding built-ins (field
types, functions, step actions, channels), so it sits just under the facade;
`engine/registry.py` keeps only the `Registry` classes, at the bottom, and no
low module imports this one.
"""
from __future__ import annotations

from importlib.metadata import entry_points

from .alerts.channels import register_builtin_channels
from .expr import default_functions
from .fields import register_builtin_field_types
from .registry import Registries, Registry
from .workflow.step_actions import register_builtin_actions

__all__ = ["Registries", "Registry", "default_registries"]


def default_registries(load_plugins: bool = True) -> Registries:
    """A fresh set of registries with the built-ins and any installed plugins."""
    regs = Registries(functions=default_functions())
    register_builtin_field_types(regs.field_types)
    register_builtin_actions(regs.actions)
    register_builtin_channels(regs.channels)
    if load_plugins:
        for ep in entry_points(group="loom.plugins"):
            ep.load()(regs)
            regs.plugins.append(ep.name)
    return regs
