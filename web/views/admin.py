"""Admin: definitions and their check results, user management, alert traces, outbox dead letters.

Every route checks `is_admin` itself (server-side, not by hiding links); for
others the admin area does not exist (404). The engine checks again where it
can (`retry_dead`, `alert_traces` for non-admins).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import LoomError, NotFound

from ..auth import acting_user
from ..i18n import LANGUAGES
from ..workflow_view import dead_letters
from .common import engine

bp = Blueprint("admin", __name__)


def _admin():
    eng, user = engine(), acting_user()
    if not user.is_admin:
        abort(404)  # the admin area does not exist for others
    return eng, user


def _role_names(eng) -> list[str]:
    return sorted(set(eng.defs.app.role_names) | {"admin"})


@bp.get("/admin")
@login_required
def index():
    eng, user = _admin()
    return _index(eng, user)


def _index(eng, user, errors=None, status=200, form=None, reload_problems=()):
    defs = eng.defs
    kinds = [("form", defs.forms), ("workflow", defs.workflows), ("alert", defs.alerts), ("report", defs.reports)]
    problems = list(defs.warnings)
    try:
        problems += list(eng.stranded_problems())
    except Exception:  # a check that cannot run must not hide the rest of the page
        pass
    users = eng.users.all()
    return render_template("admin.html", kinds=kinds, problems=problems, users=users,
                           accounts={u.name: eng.accounts.status(u.name) for u in users},
                           roles=defs.app.roles, role_names=_role_names(eng), languages=LANGUAGES,
                           dead=dead_letters(eng, user), root=defs.root, alerts=defs.alerts,
                           errors=errors or {}, form=form or {}, reload_problems=reload_problems,
                           running_version=eng.definitions_version,
                           published_version=eng.published_definitions_version()), status


@bp.post("/admin/reload")
@login_required
def reload_definitions():
    """Check the definitions folder; swap it in when clean, else say why and keep what runs."""
    eng, user = _admin()
    result = eng.reload_definitions(user)
    flash("definitions_" + result.status)
    if result.status == "refused":
        return _index(eng, user, status=422, reload_problems=result.problems)
    return redirect(url_for("admin.index") + "#definitions")


# --- outbox -------------------------------------------------------------------------


@bp.post("/admin/dead/<int:outbox_id>/retry")
@login_required
def retry(outbox_id):
    eng, user = _admin()
    flash("requeued" if eng.retry_dead(outbox_id, user) else "not_dead")
    return redirect(url_for("admin.index") + "#dead")


# --- users --------------------------------------------------------------------------


def _user_fields(eng, post, errors: dict, name: str | None = None) -> dict:
    """Roles, manager, language and email from a posted form, checked; problems go to `errors`."""
    known = set(_role_names(eng))
    roles = [r for r in post.getlist("roles") if r]
    bad = [r for r in roles if r not in known]
    if bad:
        errors["roles"] = f"unknown role(s): {', '.join(bad)}"
    manager = (post.get("manager") or "").strip() or None
    if manager is not None:
        if manager == name:
            errors["manager"] = "a user cannot be their own manager"
        elif not eng.users.exists(manager):
            errors["manager"] = f"no user {manager!r}"
    language = post.get("language") or "en"
    if language not in LANGUAGES:
        errors["language"] = f"one of {', '.join(LANGUAGES)}"
    email = (post.get("email") or "").strip() or None
    if email is not None and ("@" not in email or len(email) > 254):
        errors["email"] = "not an email address"
    full_name = (post.get("full_name") or "").strip() or None
    return {"roles": roles, "manager": manager, "language": language, "email": email,
            "full_name": full_name, "is_admin": "admin" in roles}


@bp.post("/admin/users")
@login_required
def add_user():
    eng, user = _admin()
    errors: dict = {}
    name = (request.form.get("name") or "").strip()
    if not name or len(name) > 128 or any(c.isspace() for c in name):
        errors["name"] = "1 to 128 characters, no spaces"
    password = request.form.get("password") or ""
    why = eng.accounts.password_problem(password, name)
    if why:
        errors["password"] = why
    fields = _user_fields(eng, request.form, errors)
    if not errors:
        try:
            eng.add_user(name, fields.pop("roles"), password=password, actor=user.name, **fields)
        except LoomError as exc:
            errors["name"] = exc.message
    if errors:
        return _index(eng, user, errors, 422, form=request.form)
    flash("user_added")
    return redirect(url_for("admin.index") + "#users")


@bp.post("/admin/users/<name>")
@login_required
def change_user(name):
    eng, user = _admin()
    if not eng.users.exists(name):
        abort(404)
    what = request.form.get("what")
    errors: dict = {}
    if what == "update":
        fields = _user_fields(eng, request.form, errors, name)
        if name == user.name and not fields["is_admin"]:
            errors["roles"] = "you cannot take your own admin role away"
        if not errors:
            eng.users.update(name, actor=user.name, **fields)
            flash("user_saved")
    elif what == "deactivate":
        if name == user.name:
            errors["deactivate"] = "you cannot deactivate yourself"
        else:
            eng.users.deactivate(name, actor=user.name)  # logged out everywhere; API tokens stop working too
            flash("user_deactivated")
    elif what == "password":
        password = request.form.get("password") or ""
        why = eng.accounts.password_problem(password, name)
        if why:
            errors["password"] = why
        else:
            eng.accounts.set_password(name, password, actor=user.name)  # unlocks; every session of theirs ends
            flash("password_reset")
    elif what == "unlock":
        eng.accounts.unlock(name, actor=user.name)
        flash("unlocked")
    elif what == "reset_2fa":  # a lost phone: the user enrols again at the next login
        eng.accounts.disable_two_factor(name, actor=user.name)
        flash("two_factor_reset")
    else:
        abort(400)
    if errors:
        return _index(eng, user, {f"{name}.{k}": v for k, v in errors.items()}, 422)
    return redirect(url_for("admin.index") + "#users")


# --- alert traces -------------------------------------------------------------------


@bp.get("/admin/alerts")
@login_required
def alerts():
    """Alert traces per alert and per record, and "why not?": the condition evaluated now."""
    eng, user = _admin()
    alert = request.args.get("alert") or None
    if alert is not None and alert not in eng.defs.alerts:
        abort(404)
    raw_id = (request.args.get("record") or "").strip()
    record_id = int(raw_id) if raw_id.isdigit() and 0 < int(raw_id) < 2**63 else None
    traces = eng.alert_traces(user, alert=alert, record_id=record_id, limit=200)
    explain, error = None, None
    if alert is not None and record_id is not None:
        try:
            explain = eng.explain_alert(user, alert, record_id)
        except NotFound as exc:
            error = exc.message
    elif raw_id and record_id is None:
        error = "a record id is a positive whole number"
    return render_template("admin_alerts.html", alerts=eng.defs.alerts, alert=alert, record_id=record_id,
                           traces=traces, explain=explain, error=error), (404 if error and raw_id.isdigit() else 200)


# --- the archive (h/backup) -----------------------------------------------------------


@bp.get("/admin/archive")
@login_required
def archive():
    """Search archived records by form and text; each opens read-only by id."""
    eng, user = _admin()
    form = request.args.get("form") or None
    if form is not None and form not in eng.defs.forms:
        abort(404)
    text = (request.args.get("q") or "").strip() or None
    page = eng.search_archive(user, form=form, text=text, limit=100)
    return render_template("admin_archive.html", forms=eng.defs.forms, form=form, text=text or "",
                           page=page)


# --- who may do what (h/fieldperms) -------------------------------------------------------


@bp.get("/admin/access")
@login_required
def access():
    """The `loom access` matrix: a table per form, a row per role (optionally one role)."""
    eng, _ = _admin()
    role = request.args.get("role") or None
    form = request.args.get("form") or None
    if form is not None and form not in eng.defs.forms:
        abort(404)
    entries = eng.access_matrix(role=role, form=form)
    tables: dict = {}
    for e in entries:
        tables.setdefault(e["form"], []).append(e)
    return render_template("admin_access.html", tables=tables, forms=eng.defs.forms, role=role,
                           form=form, roles=[r.name for r in eng.defs.app.roles] + ["owner"])
