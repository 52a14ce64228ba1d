"""The trash, for administrators: GET /api/trash, restore, purge."""
from __future__ import annotations

from flask import jsonify, request

from ..auth import acting_user, engine
from . import MAX_LIMIT, bp, int_arg
from .records import record_with_actions


@bp.get("/trash")
def trash_list():
    page = engine().trash(acting_user(), form=request.args.get("form") or None,
                          limit=int_arg("limit", 50, 0, MAX_LIMIT), offset=int_arg("offset", 0, 0, 10**9))
    return jsonify({"items": [x.to_json() for x in page.items], "total": page.total})


@bp.post("/trash/<form>/<int:record_id>/restore")
def trash_restore(form, record_id):
    return jsonify(record_with_actions(engine().restore_record(acting_user(), form, record_id)))


@bp.delete("/trash/<form>/<int:record_id>")
def trash_purge(form, record_id):
    engine().purge_record(acting_user(), form, record_id)
    return "", 204
