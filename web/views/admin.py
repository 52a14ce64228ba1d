"""Admin: loaded definitions and their check results, users and roles, outbox dead letters."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required

from ..auth import acting_user
from ..workflow_view import dead_letters
from .common import engine

bp = Blueprint("admin", __name__)


@bp.get("/admin")
@login_required
def index():
    eng, user = engine(), acting_user()
    if not user.is_admin:
        abort(404)  # the admin area does not exist for others
    defs = eng.defs
    kinds = [("form", defs.forms), ("workflow", defs.workflows), ("alert", defs.alerts), ("report", defs.reports)]
    problems = list(defs.warnings)
    try:
        problems += list(eng.stranded_problems())
    except Exception:  # a check that cannot run must not hide the rest of the page
        pass
    return render_template("admin.html", kinds=kinds, problems=problems, users=eng.users.all(),
                           roles=defs.app.roles, dead=dead_letters(eng, user), root=defs.root)
