"""Who is asking: session cookies (server-side session tokens) and bearer tokens.

A browser session is a row in the engine's token table (kind "session"); the
signed Flask cookie only carries that token. Logging in makes a new token
(the session id rotates), logging out revokes it, so a replayed cookie is
dead everywhere: nothing about sessions lives in a web process, and any
number of `loom serve` processes behind a load balancer agree.
"""
from __future__ import annotations

from datetime import date
from zoneinfo import available_timezones

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from engine.errors import Locked, LoomError, NotAuthenticated, PasswordTooLong, SecondFactorRequired

from .i18n import LANGUAGES, current_language, text

NOTIFY_CHANNELS = ("inbox", "email")  # what a user may choose to hear of their work by
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = None  # the server-side token is the protection


class WebUser(UserMixin):
    """The engine's User plus how they authenticated."""

    def __init__(self, user, token: str, kind: str):
        self.user, self.token, self.kind = user, token, kind

    def get_id(self) -> str:
        return self.token

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def language(self) -> str:
        return self.user.language or "en"


def engine():
    return current_app.extensions["loom.engine"]


@login_manager.user_loader
def _load_session_user(token: str):
    try:
        return WebUser(engine().users.user_for_token(token, kind="session"), token, "session")
    except NotAuthenticated:
        return None


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header.lower().startswith("bearer "):
        return None
    return header[7:].strip() or None


@login_manager.request_loader
def _load_bearer_user(req):
    token = bearer_token(req.headers.get("Authorization", ""))
    if token is None:
        return None
    try:
        return WebUser(engine().users.user_for_token(token, kind="api"), token, "bearer")
    except NotAuthenticated:
        return None


def client_address() -> str:
    return request.remote_addr or "unknown"


def start_session(user) -> WebUser:
    """Log `user` in with a fresh session token; any previous cookie content is dropped."""
    session.clear()
    token = engine().accounts.start_session(user.name, client_address(), request.headers.get("User-Agent"))
    web_user = WebUser(user, token, "session")
    login_user(web_user)
    session.permanent = True
    return web_user


def end_session() -> None:
    if current_user.is_authenticated and current_user.kind == "session":
        engine().users.revoke_token(current_user.token)
    logout_user()
    session.clear()


def reset_link(token: str) -> str:
    """The page a password reset email links to: on LOOM_BASE_URL when set (it should be, in
    production: otherwise the host is the one the asker's request named)."""
    base = current_app.config.get("LOOM_BASE_URL")
    path = url_for("accounts.reset", token=token)
    return base.rstrip("/") + path if base else request.host_url.rstrip("/") + path


def acting_user():
    """The engine User of the request (only call where login is required)."""
    return current_user.user


def _after_login(user):
    start_session(user)
    target = request.args.get("next") or ""
    # only local paths: never redirect off-site
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("home.index")
    return redirect(target)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        name = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        try:
            user = engine().authenticate(name, password, client_address())
        except SecondFactorRequired as exc:
            # the password was right: remember only the short-lived pending token, never the password
            session.clear()
            session["pending_2fa"] = exc.pending
            return redirect(url_for("auth.login_code", next=request.args.get("next") or None))
        except Locked as exc:
            error, status = refusal_text(exc, "error_429"), 429
        except (NotAuthenticated, PasswordTooLong) as exc:
            error, status = refusal_text(exc, "bad_login"), exc.status
        else:
            return _after_login(user)
    return render_template("login.html", error=error), status


def refusal_text(exc, key: str) -> str:
    """The engine's English message for English readers; the catalog's sentence otherwise."""
    language = current_language()
    return exc.message if language == "en" else text(key, language)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of a two-factor login: a TOTP code or a recovery code."""
    pending = session.get("pending_2fa")
    if not pending:
        return redirect(url_for("auth.login"))
    error, status = None, 200
    if request.method == "POST":
        try:
            user = engine().accounts.login_second_factor(pending, request.form.get("code") or "",
                                                         client_address())
        except Locked as exc:
            error, status = exc.message, 429
        except NotAuthenticated as exc:
            error, status = exc.message, 401
        else:
            return _after_login(user)
    return render_template("login_code.html", error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    end_session()
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
def account():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    errors = {}
    if request.method == "POST":
        what = request.form.get("what")
        if what == "language":
            changes = {}
            lang = request.form.get("language")
            if lang in LANGUAGES:
                changes["language"] = lang
            zone_name = (request.form.get("time_zone") or "").strip()
            if zone_name in available_timezones():
                changes["time_zone"] = zone_name
            if "notify_by" in request.form or "notify_form" in request.form:
                channels = [c for c in request.form.getlist("notify_by") if c in NOTIFY_CHANNELS]
                changes["notify_by"] = ",".join(channels or ["inbox"])
            if changes:
                engine().users.update(current_user.name, **changes)
                flash("saved")
            return redirect(url_for("auth.account"), 303)
        if what in ("away", "back"):
            errors = _set_away(what)
            if not errors:
                return redirect(url_for("auth.account"))
        if what == "password":
            current = request.form.get("current_password") or ""
            new = request.form.get("new_password") or ""
            problem = check_password(current_user.name, current)
            if problem:
                errors["current_password"] = problem
            if not errors:
                name = current_user.name
                eng = engine()
                try:
                    eng.accounts.set_password(name, new)  # policy; every session ends, this one too
                except LoomError as exc:
                    errors["new_password"] = getattr(exc, "fields", {}).get("password") or exc.message
                else:
                    start_session(eng.user(name))
                    flash("password_changed")
                    return redirect(url_for("auth.account"))
    eng = engine()
    name = current_user.name
    return render_template("account.html", errors=errors, languages=LANGUAGES,
                           zones=ZONES, app_zone=eng.defs.app.time_zone, channels=NOTIFY_CHANNELS,
                           away=eng.out_of_office(current_user.user),
                           people=[u.name for u in eng.users.all() if u.name != name],
                           two_factor=eng.accounts.two_factor_on(name),
                           sessions=eng.accounts.sessions(name, current_user.token
                                                          if current_user.kind == "session" else None)), \
        422 if errors else 200


def check_password(name: str, password: str) -> str | None:
    """None when `password` is the user's (a failure counts towards the lockout), else why not."""
    try:
        engine().authenticate(name, password, client_address())
    except SecondFactorRequired as exc:  # the password was right; no second step is needed here
        engine().users.revoke_token(exc.pending)
    except Locked as exc:
        return exc.message
    except (NotAuthenticated, PasswordTooLong):
        return "wrong_password"
    return None


def _set_away(what: str) -> dict:
    """Out of office: new tasks go to the delegate from `start` to `until` (both days included)."""
    eng, user = engine(), current_user.user
    if what == "back":
        eng.set_out_of_office(user, None, None, None)
        flash("away_cleared")
        return {}
    errors = {}
    dates = {}
    for key in ("away_from", "away_until"):
        raw = (request.form.get(key) or "").strip()
        try:
            dates[key] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[key] = "a date such as 2026-03-31"
    delegate = (request.form.get("delegate") or "").strip() or None
    if not errors:
        if dates["away_from"] is None:
            errors["away_from"] = "required"
        elif dates["away_until"] is not None and dates["away_until"] < dates["away_from"]:
            errors["away_until"] = "before the first day away"
        if delegate is None:
            errors["delegate"] = "required"
    if not errors:
        try:
            eng.set_out_of_office(user, dates["away_from"], dates["away_until"], delegate)
        except LoomError as exc:
            errors["delegate"] = exc.message
    if not errors:
        flash("away_saved")
    return errors
