"""Security headers, CSRF policy and limits for every response.

CSRF policy (see README "Serving"):
- HTML form posts: flask-wtf `CSRFProtect`, token in a hidden `csrf_token` field
  (htmx requests send it in the `X-CSRFToken` header, set from a meta tag).
- JSON API with `Authorization: Bearer`: exempt (a browser never attaches a
  bearer token by itself, so a forged cross-site request cannot carry one).
- JSON API authenticated by the session cookie: unsafe methods must send the
  `X-CSRFToken` header (the token is returned by `POST/GET /api/session`).
  `POST /api/session` itself needs no token: it requires a JSON body, which a
  cross-site form cannot send without a CORS preflight we never answer.
"""
from __future__ import annotations

import os

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import RequestEntityTooLarge

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# SVG charts are served as images; an image cannot run script, but the renderer's
# inline `style` attributes need allowing inside that one document.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

MAX_CONTENT_LENGTH = 8 * 1024 * 1024  # uploads (imports) included


def waitress_options(app: Flask) -> dict:
    """waitress refuses (413) a body over the app's cap while receiving it, before buffering it all."""
    return {"max_request_body_size": app.config["MAX_CONTENT_LENGTH"]}


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per set of keys
    (Flask builds one per request, cookie or not: 3% of an API GET). A changed
    SECRET_KEY or SECRET_KEY_FALLBACKS builds a new one."""

    _built: tuple | None = None

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        built = self._built
        if built is None or built[0] != keys:
            built = self._built = (keys, super().get_signing_serializer(app))
        return built[1]


def install(app: Flask) -> None:
    app.session_interface = CookieSessions()
    # Flask defines the key (as None), so setdefault would keep "no limit": set it.
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    # Links in emails (password reset) are built from this, never from the request's Host
    # header, which whoever asks for the reset controls.
    app.config["LOOM_BASE_URL"] = os.environ.get("LOOM_BASE_URL")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="loom_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (server-side) session
        WTF_CSRF_SSL_STRICT=False,  # same-origin is enforced by SameSite and the Origin check below
    )

    @app.before_request
    def _body_within_limit():
        # Registered first, so it runs before CSRF or any view touches the body: a declared
        # length over the cap is refused unread (a chunked body is cut off by werkzeug's
        # limited stream as it is read).
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge(f"the request body is over the limit of {limit // (1024 * 1024) or 1} MB"
                                        if limit >= 1024 * 1024 else
                                        f"the request body is over the limit of {limit} bytes")

    @app.before_request
    def _secure_cookie_over_https():
        # Behind a TLS-terminating proxy, X-Forwarded-Proto arrives via ProxyFix.
        app.config["SESSION_COOKIE_SECURE"] = request.is_secure or app.config.get("LOOM_FORCE_SECURE", False)

    @app.after_request
    def _headers(response):
        secure_headers(response.headers, response.mimetype, request.path, request.is_secure)
        return response


def secure_headers(h, mimetype: str | None, path: str, https: bool) -> None:
    """Put the headers every answer carries into `h` (werkzeug Headers): the after-request hook's,
    and web/hot_routes.py's template for its JSON answers."""
    if mimetype == "image/svg+xml":
        h["Content-Security-Policy"] = SVG_CSP
    else:
        h.setdefault("Content-Security-Policy", CSP)
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if https:
        h["Strict-Transport-Security"] = "max-age=31536000"
    if path.startswith("/api/") or mimetype == "text/html":
        h.setdefault("Cache-Control", "no-store")
