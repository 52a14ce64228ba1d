"""The JSON API under /api, as DESIGN.md lists it.

Errors are `{"error": {"code", "message", "fields"}}`. Only LoomError
subclasses (they carry `.status`, `.code` and `.fields`; the API's own refusals
are `BadRequest`, `BadParameter`, `ValidationFailed`, `NotFound` too) and HTTP
errors are translated; anything else is a bug: logged, and a 500 with no detail.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import HTTPException

from engine.errors import BadParameter, BadRequest, LoomError, ValidationFailed

bp = Blueprint("api", __name__, url_prefix="/api")

# Reachable without a login: the session endpoints, and the API's description (it lists
# form and field names, which every client needs before it can log in; no data).
PUBLIC = {("POST", "api.session_create"), ("GET", "api.session_get"), ("DELETE", "api.session_delete"),
          ("GET", "api.openapi"), ("HEAD", "api.openapi"),
          ("POST", "api.password_reset"), ("POST", "api.password_reset_confirm")}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_LIMIT = 500


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers=None,
                   reason: str | None = None):
    error = {"code": code, "message": message, "fields": fields or {}}
    if reason is not None:  # machine-readable why (403 / 409 / some 422): README "Reasons"
        error["reason"] = reason
    resp = jsonify({"error": error})
    resp.status_code = status
    if headers:
        resp.headers.update(headers)
    return resp


def loom_error_response(exc: LoomError):
    fields = dict(exc.fields)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if getattr(exc, "retry_after", None):
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(exc.status, exc.code, exc.message, fields, headers, reason=exc.reason)


def http_error_response(exc: HTTPException):
    code = {400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
            405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
            429: "too_many_requests"}.get(exc.code or 500, "http_error")
    return error_response(exc.code or 500, code, exc.description or code, headers=http_headers(exc))


def http_headers(exc: HTTPException) -> dict:
    """The headers the HTTP error carries besides its body (`Allow` on a 405, `Retry-After`)."""
    return {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}


@bp.before_request
def _authenticate_and_check_csrf():
    if request.method == "OPTIONS":
        return None
    if (request.method, request.endpoint) in PUBLIC:
        return None
    if not current_user.is_authenticated:
        return error_response(401, "not_authenticated", "log in or send an Authorization: Bearer token",
                              headers={"WWW-Authenticate": "Bearer"})
    if current_user.kind == "session" and request.method not in SAFE_METHODS:
        try:
            validate_csrf(request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token"))
        except Exception:  # flask-wtf raises ValidationError with the reason
            return error_response(400, "csrf_failed",
                                  "a cookie-authenticated request needs the X-CSRFToken header "
                                  "(from GET /api/session)")
    return None


@bp.errorhandler(LoomError)
def _loom_error(exc: LoomError):
    return loom_error_response(exc)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return error_response(400, "csrf_failed", exc.description)


def body() -> dict:
    """The JSON object body, or a 400; values no database can hold are a 422 here."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object body (Content-Type: application/json)")
    problems: dict[str, str] = {}
    _hygiene(data, "", problems)
    if problems:
        raise ValidationFailed(problems)
    return data


MAX_INT = 2**63 - 1


def _hygiene(value, path: str, problems: dict) -> None:
    """NUL characters (PostgreSQL refuses them) and integers beyond 64 bits, found anywhere."""
    if len(problems) >= 20:
        return
    if isinstance(value, str):
        if "\x00" in value:
            problems[path or "body"] = "must not contain NUL characters"
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if abs(value) > MAX_INT:
            problems[path or "body"] = "number out of range"
    elif isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            if "\x00" in key:
                problems[path or "body"] = "must not contain NUL characters"
                continue
            _hygiene(v, _strip_data(f"{path}.{key}" if path else key), problems)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _hygiene(v, f"{path}[{i}]", problems)


def _strip_data(path: str) -> str:
    # report `data.lines[0].qty` as the engine does: `lines[0].qty`
    return path[5:] if path.startswith("data.") else path


def page_text(texts: list[str], total: int, capped: bool) -> str:
    """A page's JSON answer written from its items' JSON texts: the keys `items`, `total`,
    `total_capped` in the order the page's dict has them, which is also their sorted order
    (the same bytes under a sort_keys encoder)."""
    return f'{{"items":[{",".join(texts)}],"total":{int(total)!r},' \
           f'"total_capped":{"true" if capped else "false"}}}'


def int_arg(name: str, default: int, lo: int = 0, hi: int | None = None, args=None) -> int:
    """Query parameter `name` as an integer in [lo, hi] (`args`: the request's unless given)."""
    raw = (request.args if args is None else args).get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer", name, "must be an integer")
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise BadParameter(f"{name} must be {bound}", name, f"must be {bound}")
    return value


from . import accounts, archive, audit, definitions, records, reports, session, tasks, trash  # noqa: E402,F401  (routes)
