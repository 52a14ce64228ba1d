"""`Definitions`: the frozen, loaded set of an app's definitions (what runtime code reads).

Apart from `catalog.py` (which loads and checks a tree) so the expression
environments and the semantic checks can name it without importing the loader.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..errors import NotFound, Problem
from . import model as m
from .scenarios import ScenarioSpec
from .yaml_source import SourceDoc

DEFAULT_APP = m.AppSpec(name="app", title=m.Label.of("Loom"), roles=())


@dataclass(frozen=True)
class Definitions:
    """Every definition of an app, by kind and id. Frozen once loaded."""

    app: m.AppSpec
    forms: Mapping[str, m.FormSpec]
    workflows: Mapping[str, m.WorkflowSpec]
    alerts: Mapping[str, m.AlertSpec]
    reports: Mapping[str, m.ReportSpec]
    root: str = ""
    warnings: tuple[Problem, ...] = ()
    docs: Mapping[str, SourceDoc] = field(default_factory=dict, compare=False, repr=False)
    # scenario tests (`loom test`): checked with the tree, never used by the runtime
    scenarios: Mapping[str, ScenarioSpec] = field(default_factory=dict, compare=False, repr=False)

    def form(self, form_id: str) -> m.FormSpec:
        try:
            return self.forms[form_id]
        except KeyError:
            raise NotFound(f"there is no form {form_id!r}") from None

    def workflow_for(self, form_id: str) -> m.WorkflowSpec | None:
        for wf in self.workflows.values():
            if wf.form == form_id:
                return wf
        return None

    def alert_ids_for(self, form_id: str) -> list[str]:
        """The ids of `form_id`'s alerts: what a record leaving the store must forget."""
        return [a.id for a in self.alerts.values() if a.form == form_id]
