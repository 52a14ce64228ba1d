"""Account security pages: forgot/reset password, two-factor enrolment, sessions.

Logging in itself (with the two-factor step) is in web/auth.py. Users in a role
that app.yaml's `require_2fa` lists are sent to /account/2fa until they enrol
(API calls on their session get 403 saying so)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import LoomError, NotAuthenticated, PasswordTooLong, Throttled

from ..auth import check_password, client_address, end_session, reset_link
from .common import engine

bp = Blueprint("accounts", __name__)
# what a user who must enrol may still reach
ENROL_OPEN = {"accounts.two_factor", "auth.logout", "auth.login", "auth.login_code", "static", "healthz",
              "api.session_get", "api.session_delete", "api.openapi"}


def install(app) -> None:
    @app.before_request
    def _enrol_first():
        if not current_user.is_authenticated or current_user.kind != "session":
            return None  # API tokens are issued by admins (`loom user token`), not logins
        if request.endpoint in ENROL_OPEN:
            return None
        eng = engine()
        if not eng.accounts.must_enrol(current_user.user, eng.defs.app.require_2fa):
            return None
        if request.path.startswith("/api/"):  # the API's error shape (web/api is above the views)
            resp = jsonify({"error": {"code": "two_factor_required", "fields": {},
                                      "message": "your role requires two-factor login; enrol at /account/2fa first"}})
            resp.status_code = 403
            return resp
        return redirect(url_for("accounts.two_factor"))


# --- forgot password ------------------------------------------------------------------


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    message, status = None, 200
    if request.method == "POST":
        try:
            message = engine().accounts.request_reset(request.form.get("who") or "", client_address(),
                                                      reset_link)
        except Throttled as exc:
            message, status = exc.message, 429
    return render_template("forgot.html", message=message), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token):
    eng = engine()
    try:
        name = eng.accounts.reset_user(token)
    except NotAuthenticated as exc:
        return render_template("error.html", status=404, message=exc.message), 404
    error, status = None, 200
    if request.method == "POST":
        try:
            eng.accounts.reset_password(token, request.form.get("password") or "")
        except (LoomError, PasswordTooLong) as exc:
            error = getattr(exc, "fields", {}).get("password") or exc.message
            status = 422
        else:
            end_session()
            flash("password_set")
            return redirect(url_for("auth.login"))
    return render_template("reset.html", name=name, error=error), status


# --- two-factor -------------------------------------------------------------------------


@bp.route("/account/2fa", methods=["GET", "POST"])
@login_required
def two_factor():
    eng, name = engine(), current_user.name
    acc = eng.accounts
    codes, error, status = None, None, 200
    if request.method == "POST":
        what = request.form.get("what")
        if what == "start":
            try:
                acc.start_enrolment(name, eng.defs.app.name)
            except LoomError as exc:
                error, status = exc.message, 409
        elif what == "confirm":
            try:
                codes = acc.confirm_enrolment(name, request.form.get("code") or "")
            except LoomError as exc:
                error, status = exc.message, 422
        elif what in ("disable", "recovery"):
            problem = check_password(name, request.form.get("password") or "")
            if problem:
                error, status = ("The current password is wrong." if problem == "wrong_password"
                                 else problem), 422
            elif what == "recovery":
                codes = acc.new_recovery_codes(name)
            elif _required(eng, current_user.user):
                error, status = "your role requires two-factor login; it cannot be turned off", 409
            else:
                acc.disable_two_factor(name)
                flash("two_factor_off")
                return redirect(url_for("accounts.two_factor"))
        else:
            abort(400)
    on = acc.two_factor_on(name)
    return render_template("twofactor.html", on=on, enrolment=None if on else acc.enrolment(name, eng.defs.app.name),
                           codes=codes, error=error, left=acc.recovery_codes_left(name) if on else 0,
                           required=_required(eng, current_user.user)), status


def _required(eng, user) -> bool:
    required = set(eng.defs.app.require_2fa)
    return bool(user.roles & required) or (user.is_admin and "admin" in required)


# --- sessions ----------------------------------------------------------------------------


@bp.post("/account/sessions")
@login_required
def sessions():
    acc, name = engine().accounts, current_user.name
    raw = request.form.get("id") or ""
    if raw:
        if not raw.isdigit():
            abort(400)
        acc.end_sessions(name, keep=current_user.token, session_id=int(raw))
        flash("session_ended")
    else:
        acc.end_sessions(name, keep=current_user.token)
        flash("sessions_ended")
    return redirect(url_for("auth.account") + "#sessions")
