"""Home: my open tasks, unread notifications, the forms I may create."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from ..auth import acting_user
from ..workflow_view import notifications, tasks
from .common import engine, readable_forms

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    eng, user = engine(), acting_user()
    forms = readable_forms(eng, user)
    return render_template("home.html", tasks=tasks(eng, user, limit=20),
                           notes=notifications(eng, user, unread_only=True)[:10],
                           forms=forms, creatable={f.id for f in forms if eng.can_create(user, f.id)})
