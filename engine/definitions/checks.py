"""Runs the semantic checks of a loaded tree: one module per kind, over one shared `Context`.

Apart from `semantics.py` (the `Context` and the codes every `checks_<kind>`
module imports) so that no module imports its own importers.
"""
from __future__ import annotations

from typing import Mapping

from ..errors import Problem
from . import (checks_access, checks_alert, checks_app, checks_form, checks_lines,
               checks_migrate, checks_report, checks_scenario, checks_workflow)
from .semantics import Context
from .yaml_source import SourceDoc


def check_semantics(defs, docs: Mapping[str, Mapping[str, SourceDoc]], registries=None
                    ) -> list[Problem]:
    """Every semantic problem of a loaded tree, in file order."""
    ctx = Context(defs, docs, registries)
    checks_app.check(ctx)
    checks_form.check(ctx)
    checks_lines.check(ctx)
    checks_workflow.check(ctx)
    checks_alert.check(ctx)
    checks_report.check(ctx)
    checks_scenario.check(ctx)
    checks_migrate.check(ctx)
    checks_access.check(ctx)
    return sorted(set(ctx.problems), key=lambda p: (p.file, p.line, p.col, p.message))
