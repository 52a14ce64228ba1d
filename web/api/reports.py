"""GET /api/reports/{report}?param=value[&format=csv|xlsx]."""
from __future__ import annotations

from flask import jsonify, request

from engine.errors import BadParameter, NotFound

from .. import report_view
from ..auth import acting_user, engine
from . import bp

FORMATS = {"json": None, "csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@bp.get("/reports/<report_id>")
def report(report_id):
    eng, user = engine(), acting_user()
    spec = eng.defs.reports.get(report_id)
    if spec is None:
        raise NotFound(f"there is no report {report_id!r}")
    fmt = request.args.get("format") or "json"
    if fmt not in FORMATS:
        raise BadParameter("format is json, csv or xlsx", "format", "must be json, csv or xlsx")
    params = report_view.params_from(request.args, spec)
    if fmt == "json":
        return jsonify(report_view.result_json(eng.report(user, report_id, params)))
    return report_view.download(eng.report_stream(user, report_id, params), fmt, report_id)
