"""Reports and dashboards: parameters, chart (server-side SVG), table, CSV/XLSX download."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request
from markupsafe import Markup
from flask_login import login_required

from engine.errors import LoomError, NotFound

from .. import formdata as fd
from .. import report_view
from ..auth import acting_user
from ..i18n import text
from .common import engine, visible_reports

bp = Blueprint("reports", __name__)


def _spec(report_id: str):
    spec = engine().defs.reports.get(report_id)
    if spec is None:
        abort(404)
    return spec


@bp.get("/reports")
@login_required
def index():
    eng, user = engine(), acting_user()
    reps = visible_reports(eng, user)
    flows = [wf for wf in eng.defs.workflows.values() if eng.can_see_insights(user, wf.id)]
    return render_template("reports.html", reports=[r for r in reps if not r.is_dashboard],
                           dashboards=[r for r in reps if r.is_dashboard], workflows=flows)


@bp.get("/insights/<workflow_id>")
@login_required
def insights(workflow_id):
    """One workflow's process insights: the map coloured by median time in step, and tables."""
    eng, user = engine(), acting_user()
    wf = eng.defs.workflows.get(workflow_id)
    if wf is None:
        abort(404)
    days = request.args.get("days", type=int)
    results = eng.insights(user, workflow_id, days)
    words = {k: text(f"map_{k}", user.language) for k in ("median", "hours", "now", "final")}
    svg = Markup(eng.process_map(user, workflow_id, words, days))  # built from escaped parts
    return render_template("insights.html", wf=wf, results=results, svg=svg, days=days)


@bp.get("/reports/<report_id>")
@login_required
def show(report_id):
    spec = _spec(report_id)
    eng, user = engine(), acting_user()
    params = report_view.params_from(request.args, spec)
    error, result = None, None
    try:
        result = eng.report(user, report_id, params)
    except LoomError as exc:
        if exc.status in (403, 404):
            raise
        error = getattr(exc, "fields", None) or {getattr(exc, "name", None) or "": exc.message}
    return render_template("report.html", spec=spec, result=result, error=error, params=params,
                           query=urlencode(params), engine_reports=eng.defs.reports,
                           param_widgets={p.name: fd.field_type(eng, p).widget for p in spec.params}), \
        (400 if error else 200)


@bp.get("/reports/<report_id>/chart.svg")
@login_required
def chart(report_id):
    spec = _spec(report_id)
    eng, user = engine(), acting_user()
    svg = eng.report_svg(user, report_id, report_view.params_from(request.args, spec),
                         size=report_view.chart_size(request.args))
    return Response(svg, mimetype="image/svg+xml")


@bp.get("/reports/<report_id>/download.<fmt>")
@login_required
def download(report_id, fmt):
    spec = _spec(report_id)
    if fmt not in report_view.MIMETYPES:
        abort(404)
    eng, user = engine(), acting_user()
    params = report_view.params_from(request.args, spec)
    return report_view.download(eng.report_stream(user, report_id, params), fmt, report_id)
