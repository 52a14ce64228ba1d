"""GET /api/tasks and GET /api/notifications (plus marking notifications read)."""
from __future__ import annotations

from flask import jsonify, request

from engine.errors import BadParameter, ValidationFailed

from ..auth import acting_user, engine
from ..shapes import plain
from ..workflow_view import mark_read, notifications, task_page, task_page_rendered, unread_count
from . import MAX_INT, MAX_LIMIT, bp, int_arg, page_text
from .records import exact_total

STATUSES = ("open", "waiting", "done", "cancelled", "transferred")


@bp.get("/tasks")
def task_list():
    return jsonify(inbox_page(engine(), acting_user(), request.args))


def inbox_page(eng, user, args) -> dict:
    """GET /api/tasks as it answers (`args`: the query parameters, anything with `.get`): a page
    of `limit` tasks (default 50) from `offset`, newest first, and how many there are in all
    (`total`; `total=exact` counts past 1,000 beyond the page, else `total_capped` says more)."""
    page = task_page(eng, user, *_inbox_args(args))
    return {"items": page.items, "total": page.total,
            "total_capped": page.total_capped}


def inbox_page_text(eng, user, args, render) -> str:
    """`inbox_page`'s answer as JSON text, each task as `render` (its item as the app's compact
    encoder writes it, web/hot_routes.py) gives it: the same checks, the same bytes; a task
    row read again unchanged gives the text it gave before (engine/workflow/tasks.py)."""
    texts, total, capped = task_page_rendered(eng, user, *_inbox_args(args), render)
    return page_text(texts, total, capped)


def _inbox_args(args) -> tuple:
    """The inbox's status, limit, offset and whether its total is capped (BadParameter)."""
    status = args.get("status") or "open"
    if status not in STATUSES:
        raise BadParameter(f"status is one of {', '.join(STATUSES)}", "status",
                           f"must be one of {', '.join(STATUSES)}")
    return (status, int_arg("limit", 50, 0, MAX_LIMIT, args),
            int_arg("offset", 0, 0, 10**9, args), not exact_total(args))


@bp.get("/notifications")
def notification_list():
    unread = (request.args.get("unread") or "").lower() in ("1", "true", "yes")
    eng, user = engine(), acting_user()
    items = notifications(eng, user, unread_only=unread)
    return jsonify({"items": plain(items), "unread": unread_count(eng, user)})


@bp.post("/notifications/read")
def notification_read():
    payload = request.get_json(silent=True) or {}
    ids = payload.get("ids") if isinstance(payload, dict) else None
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and abs(i) <= MAX_INT for i in ids)):
        raise ValidationFailed({"ids": "must be a list of notification ids (64-bit integers)"},
                               "\"ids\" must be a list of notification ids")
    eng, user = engine(), acting_user()
    mark_read(eng, user, ids)
    return jsonify({"unread": unread_count(eng, user)})
