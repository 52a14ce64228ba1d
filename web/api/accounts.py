"""Account security over the API: lock status and unlock (admins), password reset by
email (no login), and the caller's own sessions ("log out everywhere")."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from engine.errors import BadRequest, NotFound, PermissionDenied

from ..auth import acting_user, client_address, engine, reset_link
from . import bp, body


def _admin():
    if not acting_user().is_admin:
        raise PermissionDenied("only administrators manage users")
    return engine()


def _account_json(eng, user) -> dict:
    return {**eng.accounts.status(user.name).as_json(), "roles": sorted(user.assigned_roles),
            "effective_roles": sorted(user.roles), "is_admin": user.is_admin}


@bp.get("/users")
def users_list():
    eng = _admin()
    return jsonify({"items": [_account_json(eng, u) for u in eng.users.all()]})


@bp.get("/users/<name>")
def users_get(name):
    eng = _admin()
    user = eng.users.find(name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    return jsonify(_account_json(eng, user))


@bp.post("/users/<name>/unlock")
def users_unlock(name):
    eng = _admin()
    user = eng.users.find(name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    eng.accounts.unlock(name, actor=acting_user().name)
    return jsonify(_account_json(eng, user))


@bp.post("/password-reset")
def password_reset():
    data = body()
    who = data.get("username")
    if not isinstance(who, str) or not who.strip():
        raise BadRequest("username (a user name or email address) is required",
                         {"username": "is required"})
    message = engine().accounts.request_reset(who, client_address(), reset_link)
    resp = jsonify({"message": message})
    resp.status_code = 202
    return resp


@bp.post("/password-reset/confirm")
def password_reset_confirm():
    data = body()
    token, password = data.get("token"), data.get("password")
    if not isinstance(token, str) or not isinstance(password, str):
        raise BadRequest("token and password are required strings",
                         {k: "is required" for k in ("token", "password") if not isinstance(data.get(k), str)})
    engine().accounts.reset_password(token, password)
    return "", 204


@bp.get("/sessions")
def sessions_list():
    own = current_user.token if current_user.kind == "session" else None
    return jsonify({"items": engine().accounts.sessions(acting_user().name, own)})


@bp.delete("/sessions")
def sessions_end():
    """Log out everywhere: every session of the caller except the one making this call."""
    own = current_user.token if current_user.kind == "session" else None
    return jsonify({"ended": engine().accounts.end_sessions(acting_user().name, keep=own)})
