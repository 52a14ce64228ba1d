"""The runtime snapshot: everything derived from one set of definitions, in one frozen object.

SpiffWorkflow keeps parsed specs apart from running instances; Loom keeps
what it derives from the specs (typed tables, form runtimes, compiled
machines, alerts, reports, row rules, expression environments) in one
`Runtime`, built once per definitions load. The Engine swaps it (with the
services bound to it) in a single assignment on reload, so an operation
that began under the old definitions finishes under them and never sees a
mix of old and new.

The dicts inside are never changed after `build`, except the caches
(`envs`, `form_exports`, `list_aliases`), which only ever add entries
derived from this snapshot's definitions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from .alerts.runtime import AlertRuntime, compile_alert
from .definitions.catalog import Definitions
from .definitions.environment import all_form_types, form_env
from .forms.runtime import FormRuntime
from .registry import Registries
from .reports.compiler import CompiledReport
from .reports.dashboards import Dashboard
from .reports.insights import InsightReport
from .store.repository import Repository
from .store.typed import TypedStore
from .workflow.envs import ExprEnvs
from .workflow.machines import CompiledWorkflow


@dataclass(frozen=True)
class Runtime:
    defs: Definitions
    registries: Registries
    typed: TypedStore
    repo: Repository
    forms: Mapping[str, FormRuntime]  # form id -> validation, computation, (de)serialising
    form_types: Mapping  # form id -> expression types of its fields
    rows_fn: Mapping[str, Callable]  # form id -> its compiled `permissions.rows`
    envs: ExprEnvs
    machines: Mapping[str, CompiledWorkflow]  # form id -> its workflow's machine
    alerts_by_form: Mapping[str, list[AlertRuntime]]  # event-triggered alerts
    alerts_scheduled: tuple[AlertRuntime, ...]
    reports: Mapping[str, CompiledReport]
    dashboards: Mapping[str, Dashboard]
    form_exports: dict = field(default_factory=dict)  # cache: "form[.table]" -> CompiledReport
    list_aliases: dict = field(default_factory=dict)  # cache: form id -> its typed table alias

    @classmethod
    def build(cls, defs: Definitions, registries: Registries, dialect: str) -> "Runtime":
        field_types, fns = registries.field_types, registries.functions
        typed = TypedStore(defs, field_types)
        forms = {fid: FormRuntime(f, defs, registries) for fid, f in defs.forms.items()}
        form_types = all_form_types(defs, field_types)
        rows_fn = {}
        for fid, form in defs.forms.items():
            if form.permissions.rows is not None:
                env = form_env(defs, field_types, fid, forms=form_types)
                rows_fn[fid] = form.permissions.rows.compile_python(env, fns)
        envs = ExprEnvs(defs, registries, form_types)
        machines = {wf.form: CompiledWorkflow(wf, lambda expr, form=wf.form: envs.compile(expr, form))
                    for wf in defs.workflows.values() if wf.form in defs.forms}
        by_form: dict[str, list] = {}
        scheduled = []
        for spec in defs.alerts.values():
            rt = compile_alert(spec, defs, registries, form_types)
            if spec.on.kind == "schedule":
                scheduled.append(rt)
            else:
                by_form.setdefault(spec.form, []).append(rt)
        reports = {rid: InsightReport(spec, defs, registries, form_types) if spec.insight
                   else CompiledReport(spec, defs, registries, typed)
                   for rid, spec in defs.reports.items() if not spec.is_dashboard}
        dashboards = {rid: Dashboard(spec, reports, registries, form_types)
                      for rid, spec in defs.reports.items() if spec.is_dashboard}
        return cls(defs=defs, registries=registries, typed=typed,
                   repo=Repository(dialect, typed), forms=forms, form_types=form_types,
                   rows_fn=rows_fn, envs=envs, machines=machines, alerts_by_form=by_form,
                   alerts_scheduled=tuple(scheduled), reports=reports, dashboards=dashboards)
