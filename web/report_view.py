"""Running reports for the web: params from the query string, JSON shape, exports, charts."""
from __future__ import annotations

import io

MIMETYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def params_from(args, spec) -> dict:
    """Only the report's declared params; blank means 'use the default'."""
    names = {p.name for p in spec.params}
    return {k: v for k, v in args.items() if k in names and v != ""}


def result_json(result) -> dict:
    return result.as_json()


def export(eng, user, report_id: str, fmt: str, params: dict) -> bytes:
    out = io.BytesIO()
    eng.export_report(user, report_id, fmt, out, params)
    return out.getvalue()


def svg(eng, user, report_id: str, params: dict) -> str:
    return eng.report_svg(user, report_id, params)
