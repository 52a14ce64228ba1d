"""GET /api/archive: archived records, for administrators (404 for the form, 403 for others)."""
from __future__ import annotations

from flask import jsonify, request

from ..auth import acting_user, engine
from . import MAX_LIMIT, bp, int_arg


@bp.get("/archive")
def archive_search():
    page = engine().search_archive(acting_user(), form=request.args.get("form") or None,
                                   text=request.args.get("q") or None,
                                   limit=int_arg("limit", 50, 0, MAX_LIMIT),
                                   offset=int_arg("offset", 0, 0, 10**9))
    return jsonify({"items": [r.to_json() for r in page.items], "total": page.total})
