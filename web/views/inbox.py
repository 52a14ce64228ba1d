"""The approval inbox: my tasks by status."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from ..auth import acting_user
from ..workflow_view import tasks
from .common import engine

bp = Blueprint("inbox", __name__)
STATUSES = ("open", "waiting", "done", "transferred")


@bp.get("/inbox")
@login_required
def index():
    status = request.args.get("status", "open")
    if status not in STATUSES:
        abort(400)
    eng = engine()
    return render_template("inbox.html", tasks=tasks(eng, acting_user(), status), status=status,
                           statuses=STATUSES, forms=eng.defs.forms)
