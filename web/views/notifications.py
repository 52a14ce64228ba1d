"""Notifications: the list, and marking them read."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import login_required

from ..auth import acting_user
from ..workflow_view import mark_read, notifications
from .common import engine

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@login_required
def index():
    return render_template("notifications.html", notes=notifications(engine(), acting_user()))


@bp.post("/notifications/read")
@login_required
def read():
    mark_read(engine(), acting_user())
    return redirect(url_for("notifications.index"))
