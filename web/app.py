"""The Flask app factory: `create_app(engine)` wires blueprints, auth, CSRF and errors."""
from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import escape
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.exceptions import NotFound as HttpNotFound

from engine.errors import LoomError, ShortLogs

from . import hot_routes, security
from .api import bp as api_bp
from .api import error_response, http_error_response, http_headers, loom_error_response
from .api.records import Markers
from .auth import bp as auth_bp
from .auth import login_manager
from .read_lanes import ReadLanes
from .views import register as register_views

log = logging.getLogger("loom.web")
log.addFilter(ShortLogs())
csrf = CSRFProtect()
MAX_ID = 2**63 - 1


# GETs whose answer is built before the view returns. Not the streamed ones (exports, report
# downloads): their rows are read after the request's teardown, when this transaction has ended.
SHARED_READS = {"api.record_get", "api.record_list", "api.record_history", "api.task_list",
                "api.notification_list"}


def _one_read_transaction_per_request(app: Flask, engine) -> None:
    """A GET's reads (the token's user, the record, its actions) share one read transaction,
    and run in one of the app's read lanes (web/read_lanes.py)."""
    @app.before_request
    def _open_reads():
        if request.method in ("GET", "HEAD") and request.endpoint in SHARED_READS:
            g.loom_lane = app.extensions["loom.read_lanes"].enter()
            scope = engine.db.read_scope()
            scope.__enter__()
            g.loom_reads = scope

    @app.teardown_request
    def _close_reads(exc):
        scope = g.pop("loom_reads", None)
        try:
            if scope is not None:
                scope.__exit__(None, None, None)
        finally:
            if g.pop("loom_lane", False):
                app.extensions["loom.read_lanes"].leave()


def create_app(engine, *, secret_key: str | None = None, config: dict | None = None) -> Flask:
    """A Flask app over `engine`. Keep no state that matters in the process: sessions live in the DB.

    Several processes (behind a load balancer) must share `LOOM_SECRET_KEY`, which signs the cookie.
    """
    app = Flask(__name__)
    key = secret_key or os.environ.get("LOOM_SECRET_KEY")
    if not key:
        log.warning("LOOM_SECRET_KEY is not set: using a random key, so sessions end on restart "
                    "and are not shared between processes")
        key = secrets.token_hex(32)
    app.config["SECRET_KEY"] = key
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    security.install(app)
    # one lane on SQLite (the GIL runs one at a time anyway: two readers only bounced it
    # between them at every row); off elsewhere unless asked
    app.config["LOOM_READ_LANES"] = int(os.environ.get("LOOM_READ_LANES",
                                                       "1" if engine.db.is_sqlite else "0"))
    app.config["LOOM_READ_LANE_WAIT"] = 0.1
    _one_read_transaction_per_request(app, engine)
    if config:
        app.config.update(config)
    app.extensions["loom.read_lanes"] = ReadLanes(app.config["LOOM_READ_LANES"],
                                                  app.config["LOOM_READ_LANE_WAIT"])
    app.extensions["loom.engine"] = engine
    app.extensions["loom.utc_markers"] = Markers()

    login_manager.init_app(app)
    csrf.init_app(app)

    csrf.exempt(api_bp)  # the API checks CSRF itself: see web/security.py
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    register_views(app)

    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.path == "/api"

    @app.errorhandler(LoomError)
    def _loom_error(exc: LoomError):
        if wants_json():
            return loom_error_response(exc)
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        if wants_json():
            return error_response(400, "csrf_failed", exc.description)
        return render_template("error.html", status=400, message=exc.description), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if wants_json():
            return http_error_response(exc)
        headers = http_headers(exc)
        if request.headers.get("HX-Request"):  # a fragment for the target, not a page inside a page
            return (f'<p class="error" role="alert">{escape(exc.description or exc.name)}</p>',
                    exc.code, headers)
        return render_template("error.html", status=exc.code, message=exc.description), exc.code, headers

    @app.errorhandler(Exception)
    def _bug(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            resp = jsonify({"error": {"code": "internal_error", "message": "internal error; it has been logged",
                                      "fields": {}}})
            resp.status_code = 500
            return resp
        return render_template("error.html", status=500, message=None), 500

    @login_manager.unauthorized_handler
    def _unauthorized():
        if wants_json():
            return error_response(401, "not_authenticated", "log in or send an Authorization: Bearer token")
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))

    @app.before_request
    def _no_nul_in_forms():
        # PostgreSQL cannot store NUL characters: refuse them at the door, on every backend alike
        fields = list(request.args.items(multi=True))
        if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded",
                                                             "multipart/form-data"):
            fields += list(request.form.items(multi=True))
        if fields:
            for key, value in fields:
                # a multipart part may come without a usable name: werkzeug gives None
                if "\x00" in (key or "") or "\x00" in (value or ""):
                    raise BadRequest("text must not contain NUL characters")

    @app.before_request
    def _ids_in_range():
        # a record id beyond BIGINT cannot exist; answer 404 before the database overflows
        rid = (request.view_args or {}).get("record_id")
        if isinstance(rid, int) and rid > MAX_ID:
            raise HttpNotFound("no such record")

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    hot_routes.install(app)
    return app
