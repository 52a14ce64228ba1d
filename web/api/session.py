"""POST/GET/DELETE /api/session: cookie login for browsers and scripts."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from engine.errors import BadRequest

from ..auth import acting_user, client_address, end_session, engine, start_session
from . import bp, body, error_response


def _user_json(user) -> dict:
    return {"name": user.name, "roles": sorted(user.roles), "language": user.language,
            "email": user.email, "manager": user.manager, "is_admin": user.is_admin}


@bp.post("/session")
def session_create():
    data = body()
    name, password, otp = data.get("username"), data.get("password"), data.get("otp")
    if not isinstance(name, str) or not isinstance(password, str):
        raise BadRequest("username and password are required strings",
                         {k: "is required" for k in ("username", "password")
                          if not isinstance(data.get(k), str)})
    if otp is not None and not isinstance(otp, str):
        raise BadRequest("otp is a string", {"otp": "must be a string"})
    # Locked/Throttled → 429, bad → 401, 2FA account without otp → 401 second_factor_required
    user = engine().authenticate(name, password, client_address(), otp)
    start_session(user)
    resp = jsonify({"user": _user_json(user), "csrf_token": generate_csrf()})
    resp.status_code = 201
    return resp


@bp.get("/session")
def session_get():
    if not current_user.is_authenticated:
        return error_response(401, "not_authenticated", "not logged in")
    return jsonify({"user": _user_json(acting_user()), "auth": current_user.kind,
                    "csrf_token": generate_csrf()})


@bp.delete("/session")
def session_delete():
    if not current_user.is_authenticated:
        return error_response(401, "not_authenticated", "not logged in")
    if current_user.kind != "session":
        raise BadRequest("a bearer token has no session to end")
    end_session()
    return "", 204
