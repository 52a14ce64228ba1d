"""The report service the Engine facade composes: running, streaming and exporting reports.

    result = engine.report(user, "claims_by_month", {"since": "2026-01-01"})
    with open("out.xlsx", "wb") as f:
        engine.export_report(user, "spend_by_item", "xlsx", f)

Each report compiles once per definitions load (into the runtime snapshot:
`rt.reports`, `rt.dashboards`); a run builds the one SELECT for the reader
(their row permissions, from the reader's `visibility`, are part of it) and
the given parameters (bound, never inlined).
"""
from __future__ import annotations

import contextlib
from typing import Any, BinaryIO, Iterator, Mapping

from ..definitions import model as m
from ..errors import LoomError, NotFound, PermissionDenied
from .charts import render_svg
from .value_labels import relabel, value_labels
from .compiler import CompiledReport
from .insights import INSIGHTS, InsightReport
from .process_map import render_process_map
from .exporters import write
from .results import ReportResult, ReportStream, converter, result_columns

STREAM_BATCH = 2000  # rows fetched per round trip when streaming exports


class ReportService:
    """Reports behind the Engine facade, bound to one runtime snapshot."""

    def __init__(self, rt, db, clock, reader):
        self.rt, self.db, self.clock, self.reader = rt, db, clock, reader

    # --- running ----------------------------------------------------------------

    def report(self, user, report_id: str, params: Mapping[str, Any] | None = None) -> ReportResult:
        """Run a report (or a dashboard: every tile the reader may run) as `user`."""
        if report_id in self.rt.dashboards:
            return self.rt.dashboards[report_id].run(self, user, params)
        compiled = self._compiled(user, report_id)
        with self._report_rows(user, compiled, params, stream=False) as stream:
            rows = list(stream.rows)
        spec = compiled.spec
        # on screen (and in its chart) a state or an option reads as its label; exports keep keys
        rows = relabel(stream.columns, rows, value_labels(self.rt.defs, spec, user.language))
        return ReportResult(spec.id, stream.title, stream.columns, rows,
                            params=self._param_values(compiled, user, params), chart=spec.chart)

    @contextlib.contextmanager
    def report_stream(self, user, report_id: str,
                      params: Mapping[str, Any] | None = None) -> Iterator[ReportStream]:
        """Columns and a lazily fetched row iterator; valid inside the `with` block."""
        compiled = self._compiled(user, report_id)
        with self._report_rows(user, compiled, params) as stream:
            yield stream

    def export_report(self, user, report_id: str, fmt: str, out: BinaryIO,
                      params: Mapping[str, Any] | None = None) -> int:
        """Write a report as CSV or XLSX to a binary file; returns the number of rows."""
        with self.report_stream(user, report_id, params) as stream:
            return write(fmt, stream, out)

    def export_form(self, user, form_id: str, fmt: str, out: BinaryIO) -> int:
        """Write the records of a form (or `form.table` line items) the user may read."""
        compiled = self._form_export(form_id)
        with self._report_rows(user, compiled, None, hide=self._hidden(user, form_id)) as stream:
            return write(fmt, stream, out)

    @contextlib.contextmanager
    def form_stream(self, user, form_id: str) -> Iterator[ReportStream]:
        """The records of a form (or `form.table` line items) the user may read, as a
        lazily fetched stream (like `report_stream`); for streamed HTTP downloads."""
        compiled = self._form_export(form_id)
        with self._report_rows(user, compiled, None, hide=self._hidden(user, form_id)) as stream:
            yield stream

    def report_svg(self, user, report_id: str, params: Mapping[str, Any] | None = None,
                   size: tuple[int, int] | None = None) -> str:
        """The report's chart as standalone SVG (a table when it declares no chart), at `size`."""
        result = self.report(user, report_id, params)
        return render_svg(self.rt.defs.reports[report_id], result, *(size or ()))

    def report_sql(self, user, report_id: str, params: Mapping[str, Any] | None = None) -> str:
        """The statement a run would execute (bound values shown as placeholders)."""
        compiled = self._compiled(user, report_id)
        query = self._build(user, compiled, params)
        return str(query.statement.compile(self.db.engine))

    def can_run_report(self, user, report_id: str) -> bool:
        """Whether `user` may run the report (or open the dashboard); for menus and links."""
        spec = self.rt.defs.reports.get(report_id)
        return spec is not None and self.may_run(user, spec)

    # --- process insights -----------------------------------------------------------

    def insights(self, user, workflow_id: str, days: int | None = None) -> dict[str, ReportResult]:
        """Every built-in insight of one workflow, for readers of its form."""
        self._may_see_process(user, workflow_id)
        return {name: self._insight(user, workflow_id, name, days) for name in INSIGHTS}

    def process_map(self, user, workflow_id: str, words: Mapping[str, str],
                    days: int | None = None) -> str:
        """The workflow as SVG, each step coloured by its median time in it."""
        wf = self._may_see_process(user, workflow_id)
        result = self._insight(user, workflow_id, "time_in_step", days, raw_steps=True)
        names = [c.name for c in result.columns]
        rows = [dict(zip(names, row)) for row in result.rows]
        return render_process_map(wf, {r["step"]: r["median_hours"] for r in rows},
                                  {r["step"]: r["in_step_now"] for r in rows}, user.language, words)

    def can_see_insights(self, user, workflow_id: str) -> bool:
        """Readers of a workflow's form may see how it runs (admins always)."""
        wf = self.rt.defs.workflows.get(workflow_id)
        return wf is not None and (user.is_admin or self.reader.has_read_role(user, wf.form))

    def _may_see_process(self, user, workflow_id: str):
        wf = self.rt.defs.workflows.get(workflow_id)
        if wf is None:
            raise NotFound(f"no workflow {workflow_id!r}")
        if not self.can_see_insights(user, workflow_id):
            raise PermissionDenied("you may not see how this workflow runs")
        return wf

    def _insight(self, user, workflow_id: str, name: str, days: int | None,
                 raw_steps: bool = False) -> ReportResult:
        spec = m.ReportSpec(id=f"{workflow_id}.{name}", title=m.Label.of(name), insight=name,
                            workflow=workflow_id, days=days)
        compiled = InsightReport(spec, self.rt.defs, self.rt.registries, self.rt.form_types,
                                 raw_steps)
        with self._report_rows(user, compiled, None, stream=False) as stream:
            return ReportResult(spec.id, stream.title, stream.columns, list(stream.rows))

    # --- internals ----------------------------------------------------------------

    def _compiled(self, user, report_id: str) -> CompiledReport:
        compiled = self.rt.reports.get(report_id)
        if compiled is None:
            if report_id in self.rt.dashboards:
                raise LoomError(f"{report_id!r} is a dashboard; export its tiles one by one")
            raise NotFound(f"no report {report_id!r}")
        self.check_may_run(user, compiled.spec)
        return compiled

    def check_may_run(self, user, spec: m.ReportSpec) -> None:
        """PermissionDenied unless `user` may run the report: its roles (or the source's
        readers), and every field it filters, groups, aggregates or lists must be one
        they may see (else the message names the field)."""
        if not self._may_run_roles(user, spec):
            raise PermissionDenied(f"you may not run the report {spec.title.get(user.language)}")
        compiled = self.rt.reports.get(spec.id)
        if compiled is not None and spec.source:
            self.reader.access.check_paths(user, spec.source, _paths(compiled),
                                           f"the report {spec.title.get(user.language)}",
                                           table=spec.lines)

    def may_run(self, user, spec: m.ReportSpec) -> bool:
        try:
            self.check_may_run(user, spec)
        except PermissionDenied:
            return False
        return True

    def _hidden(self, user, name: str) -> frozenset:
        """The columns of a form export (`form` or `form.table`) `user` may not see."""
        form_id, _, table = name.partition(".")
        hidden = self.reader.access.hidden(user, form_id)
        if table and table in hidden:  # the whole table is hidden: no column of it shows
            return frozenset(f.name for f in self.rt.defs.form(form_id).field(table).fields) | hidden
        return hidden

    def _may_run_roles(self, user, spec: m.ReportSpec) -> bool:
        if user.is_admin:
            return True
        if spec.permissions:
            return bool(user.roles & set(spec.permissions))
        if spec.insight:  # process history of a form: its readers
            wf = self.rt.defs.workflows.get(spec.workflow)
            return wf is not None and self.reader.has_read_role(user, wf.form)
        if spec.source:
            return self.reader.has_read_role(user, spec.source)
        return True

    def _form_export(self, name: str) -> CompiledReport:
        compiled = self.rt.form_exports.get(name)
        if compiled is None:
            form_id, _, table = name.partition(".")
            form = self.rt.defs.form(form_id)
            if table and (form.field(table) is None or not form.field(table).is_table):
                raise NotFound(f"form {form_id!r} has no table {table!r}")
            spec = m.ReportSpec(id=name, title=form.title, source=form_id, lines=table or None)
            compiled = CompiledReport(spec, self.rt.defs, self.rt.registries, self.rt.typed)
            self.rt.form_exports[name] = compiled
        return compiled

    def _param_values(self, compiled: CompiledReport, user, params) -> dict:
        resolved = compiled.params.resolve(params, user=user, clock=self.clock)
        return {k: v for k, (v, _) in resolved.items()}

    def _build(self, user, compiled: CompiledReport, params, strict: bool = True):
        resolved = compiled.params.resolve(params, user=user, clock=self.clock, strict=strict)
        return compiled.build(dialect=self.db.dialect, user=user, params=resolved,
                              clock=self.clock,
                              visibility=lambda scope: self.reader.visibility(
                                  scope, user, compiled.spec.source),
                              link_rule=self.reader.link_rule(user))

    @contextlib.contextmanager
    def _report_rows(self, user, compiled: CompiledReport, params, strict: bool = True,
                     stream: bool = True, hide: frozenset = frozenset()) -> Iterator[ReportStream]:
        query = self._build(user, compiled, params, strict)
        keep = [i for i, c in enumerate(query.columns) if c.name not in hide]
        columns = [query.columns[i] for i in keep]
        convert = [converter(c.term) for c in columns]
        spec = compiled.spec
        with self.db.read() as conn:
            # A server-side cursor only where rows are many (exports): PostgreSQL plans
            # cursors for the first rows (cursor_tuple_fraction), which slows a GROUP BY.
            if stream:
                conn = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH)
            result = conn.execute(query.statement)

            def rows():
                for row in result:
                    yield tuple(f(row[i]) for f, i in zip(convert, keep))

            try:
                yield ReportStream(spec.id, spec.title.get(user.language),
                                   result_columns(columns, user.language), rows())
            finally:
                result.close()


def _paths(compiled: CompiledReport) -> frozenset:
    """Every field path the report's expressions name (filter, where, groups, measures, columns)."""
    spec = compiled.spec
    exprs = [spec.filter, spec.where] + [c.expr for c in
                                         (*spec.group_by, *spec.measures, *compiled.columns)]
    return frozenset(p for e in exprs if e is not None for p in e.paths())
