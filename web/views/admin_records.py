"""Administrators' pages for what happened to records and accounts: the trash (restore,
purge) and the audit log (filter by user and time, paged)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import LoomError

from ..auth import acting_user
from ..paging import page_number
from .common import engine

bp = Blueprint("admin_records", __name__)
PAGE = 50


def _admin():
    eng, user = engine(), acting_user()
    if not user.is_admin:
        abort(404)  # the admin area does not exist for others
    return eng, user


@bp.get("/admin/trash")
@login_required
def trash():
    eng, user = _admin()
    form = request.args.get("form") or None
    if form is not None and form not in eng.defs.forms:
        abort(404)
    page_no = page_number(request.args)
    page = eng.trash(user, form, limit=PAGE, offset=(page_no - 1) * PAGE)
    return render_template("admin_trash.html", forms=eng.defs.forms, form=form, page=page,
                           page_no=page_no, pages=max(1, -(-page.total // PAGE)))


@bp.post("/admin/trash/<form>/<int:record_id>")
@login_required
def trash_change(form, record_id):
    eng, user = _admin()
    if form not in eng.defs.forms:
        abort(404)
    what = request.form.get("what")
    try:
        if what == "restore":
            eng.restore_record(user, form, record_id)
            flash("restored")
        elif what == "purge":
            eng.purge_record(user, form, record_id)
            flash("purged")
        else:
            abort(400)
    except LoomError as exc:
        flash(exc.message)
    return redirect(url_for("admin_records.trash"))


def _day(name: str, end: bool = False) -> datetime | None:
    """The form's date as the start of that day (`end`: of the day after); None if not a date."""
    raw = (request.args.get(name) or "").strip()
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1) if end else day, datetime.min.time())


@bp.get("/admin/audit")
@login_required
def audit():
    eng, user = _admin()
    who = (request.args.get("user") or "").strip() or None
    action = (request.args.get("action") or "").strip() or None
    page_no = page_number(request.args)
    # the form's dates are whole days: `until` includes its day
    page = eng.audit(user, who=who, action=action, since=_day("since"), until=_day("until", end=True),
                     limit=PAGE, offset=(page_no - 1) * PAGE)
    pages = max(1, -(-page.total // PAGE))
    kept = {k: v for k, v in request.args.items() if k != "page" and v}
    prev_url = url_for("admin_records.audit", page=page_no - 1, **kept) if page_no > 1 else None
    next_url = url_for("admin_records.audit", page=page_no + 1, **kept) if page_no < pages else None
    return render_template("admin_audit.html", page=page, page_no=page_no, pages=pages,
                           args=request.args, prev_url=prev_url, next_url=next_url)
