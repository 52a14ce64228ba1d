"""GET /api/admin/audit?user=&action=&since=&until=&limit=&offset=: the audit log, for administrators."""
from __future__ import annotations

from datetime import date, datetime, timezone

from flask import jsonify, request

from engine.errors import BadParameter
from engine.records import iso

from ..auth import acting_user, engine
from . import MAX_LIMIT, bp, int_arg


def time_arg(name: str) -> datetime | None:
    """An ISO date or date-time (UTC unless it says otherwise) as naive UTC, or None."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time())
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(f"{name} must be a date (2026-03-02) or date-time (2026-03-02T09:00:00Z)",
                           name, "must be an ISO date or date-time") from None
    return at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at


def audit_json(row: dict) -> dict:
    return {"id": row["id"], "at": iso(row["at"]), "actor": row["actor"], "action": row["action"],
            "user": row["subject"], "form": row["form"], "record_id": row["record_id"],
            "address": row["address"], "detail": row["detail"] or {}}


@bp.get("/admin/audit")
def audit_list():
    page = engine().audit(acting_user(), who=request.args.get("user") or None,
                          action=request.args.get("action") or None,
                          since=time_arg("since"), until=time_arg("until"),
                          limit=int_arg("limit", 50, 0, MAX_LIMIT), offset=int_arg("offset", 0, 0, 10**9))
    return jsonify({"items": [audit_json(r) for r in page.items], "total": page.total})
