"""Dashboards: a report listing `tiles` whose params pass to every tile.

The dashboard resolves its own params (defaults included) once; each tile
receives the values for the params it declares by the same name and
resolves the rest from its own defaults. Tiles the reader may not run are
left out rather than failing the whole dashboard.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..definitions import model as m
from .params import ParamSet
from .results import ReportResult


class Dashboard:
    def __init__(self, spec: m.ReportSpec, reports: Mapping, registries, forms):
        self.spec = spec
        self.reports = reports
        self.params = ParamSet(spec.params, registries, forms)

    def run(self, reports, user, raw: Mapping[str, Any] | None) -> ReportResult:
        """`reports` is the ReportService: it checks who may run what and runs each tile."""
        reports.check_may_run(user, self.spec)
        values = {k: v for k, (v, _) in self.params.resolve(raw, user=user,
                                                            clock=reports.clock).items()}
        tiles = []
        for tile_id in self.spec.tiles:
            if tile_id in reports.rt.dashboards:
                continue  # nested dashboards are not drawn inside tiles
            compiled = self.reports.get(tile_id)
            if compiled is None or not reports.may_run(user, compiled.spec):
                continue
            shared = {k: v for k, v in values.items()
                      if k in compiled.params.specs and v is not None}
            tiles.append(reports.report(user, tile_id, shared))
        return ReportResult(self.spec.id, self.spec.title.get(user.language), [], [],
                            params=values, chart=self.spec.chart, tiles=tiles)
