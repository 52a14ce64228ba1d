"""The API's hottest requests, answered without Flask's per-request machinery.

GET a record, GET a list page, GET the inbox and POST a workflow action are
most of what API clients send. Through Flask each paid for a request context, a
session, flask-login's proxies, eight before/after hooks and werkzeug's headers
before any engine work: a third of the CPU of a GET of a record. This WSGI layer
in front of the Flask app answers them itself when the request is plain:

- `Authorization: Bearer` and no cookie at all (a cookie may carry a session,
  whose writes need a CSRF token and whose user flask-login loads: Flask's);
- exactly one of those paths, a form id and action name of `[A-Za-z0-9_]`, a
  record id without leading zeros within BIGINT;
- a query string of the route's own parameters in plain characters
  (`limit=50&offset=100`: nothing to decode, no parameter twice);
- for the POST, `Content-Type: application/json` and a JSON object body of at
  most 64 KB with its length declared.

Anything else goes to Flask untouched (every request does once a request hook is added
after `create_app`: `_hooks`), and so does every refusal before a write
(a bad token, an unreadable record, a bad parameter or body): a read is simply
asked again of Flask, which answers it as it always has, so the error shapes and
messages stay in one place. Once an action has been tried, its error is answered
by Flask's own error handlers (`_flask_error`), never by asking twice; an action
on a record the user may not read is refused by the action itself (its first
read, under the record's lock: the same 404), nothing written.

What each request is checked for is the same as under Flask, by the same code:
the token, its user and roles are read afresh on every request
(`Directory.user_for_token`), the views' functions (`read_record`, `list_page`,
`inbox_page`, `action_request`) do the engine calls, so the engine checks the
record's permissions as ever, and the answer's headers come from
`security.secure_headers` (plus `Vary: Cookie`, as Flask's session adds: a cookie
would change who asks). `tests/api/test_hot_routes.py` compares every answer,
headers and bytes, with the same request answered by Flask.
"""
from __future__ import annotations

import io
import json
import re
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import Headers

from .api.records import (action_request, item_renderer, list_page, list_page_text,
                          read_record, record_with_actions)
from .api.tasks import inbox_page, inbox_page_text
from .auth import bearer_token
from .security import secure_headers

_RECORDS = re.compile(r"/api/forms/([A-Za-z0-9_]+)/records"
                      r"(?:/([1-9][0-9]{0,18})(?:/actions/([A-Za-z0-9_]+))?)?\Z")
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]*(?:&[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]*)*\Z")
LIST_PARAMS = frozenset({"limit", "offset", "filter", "order", "total"})
INBOX_PARAMS = frozenset({"status", "limit", "offset", "total"})
MAX_ID = 2**63 - 1
MAX_BODY = 64 * 1024


def install(app: Flask) -> None:
    """Put the hot routes in front of the app's WSGI callable (`LOOM_HOT_ROUTES`: on unless False).
    Call it last in `create_app`: the request hooks registered by then are the ones this layer
    was checked against (see `_hooks`)."""
    if app.config.get("LOOM_HOT_ROUTES", True):
        app.wsgi_app = HotRoutes(app, app.wsgi_app)


def _hooks(app: Flask) -> tuple:
    """Every per-request hook Flask would run. The hot routes were checked against the set
    `create_app` registers; a hook added later (a plugin's, a new check) might be one a request
    must pass, so once the set differs every request goes to Flask."""
    return tuple(tuple((k, tuple(v)) for k, v in funcs.items())
                 for funcs in (app.before_request_funcs, app.after_request_funcs,
                               app.teardown_request_funcs, app.url_value_preprocessors))


def _query(environ, allowed: frozenset) -> dict | None:
    """The query parameters when they are plain and the route's own (else None: Flask's)."""
    raw = environ.get("QUERY_STRING", "")
    if not raw:
        return {}
    if not _PLAIN_QUERY.match(raw):
        return None
    args = dict(pair.split("=", 1) for pair in raw.split("&"))
    if len(args) != raw.count("&") + 1 or not args.keys() <= allowed:
        return None
    return args


class _AskFlask(Exception):
    """Not a plain request after all (its token failed): Flask answers it, nothing written."""


class _LaneBody:
    """A read's answer that keeps its read lane until the server has written it (WSGI calls
    `close()` then, once or more, on whichever thread)."""

    __slots__ = ("body", "release")

    def __init__(self, body: bytes, release) -> None:
        self.body, self.release = body, release

    def __iter__(self):
        yield self.body

    def close(self) -> None:
        release, self.release = self.release, None
        if release is not None:
            release()


class HotRoutes:
    """WSGI middleware: the plain hot API requests answered here, everything else by Flask."""

    def __init__(self, app: Flask, flask_wsgi):
        self.app, self.flask = app, flask_wsgi
        self._headers: dict[bool, list] = {}
        self._encoders: dict = {}
        self._renders: dict = {}
        self._hooks = _hooks(app)

    def __call__(self, environ, start_response):
        if "HTTP_COOKIE" in environ or _hooks(self.app) != self._hooks:
            return self.flask(environ, start_response)
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return self.flask(environ, start_response)
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
        if method == "GET":
            if path == "/api/tasks":
                args = _query(environ, INBOX_PARAMS)
                render = self._render()
                if args is not None and render is not None:  # written as text, each task's kept
                    return self._read(environ, start_response, token,
                                      lambda eng, user: inbox_page_text(eng, user, args, render),
                                      text=True)
                if args is not None:
                    return self._read(environ, start_response, token,
                                      lambda eng, user: inbox_page(eng, user, args))
            else:
                m = _RECORDS.match(path)
                if m is not None and m[3] is None:
                    return self._read_record(environ, start_response, token, m[1], m[2])
        elif method == "POST":
            m = _RECORDS.match(path)
            if m is not None and m[3] is not None and int(m[2]) <= MAX_ID:
                return self._act(environ, start_response, token, m[1], int(m[2]), m[3])
        return self.flask(environ, start_response)

    # --- reads ------------------------------------------------------------------------

    def _read_record(self, environ, start_response, token, form, record_id):
        markers = self.app.extensions["loom.utc_markers"]
        if record_id is None:
            args = _query(environ, LIST_PARAMS)
            if args is None:
                return self.flask(environ, start_response)
            encode = self._compact()
            if encode is not None:  # written as text, each record's item kept (list_page_text)
                return self._read(environ, start_response, token, lambda eng, user: list_page_text(
                    eng, user, markers, form, args, encode), text=True)
            return self._read(environ, start_response, token,
                              lambda eng, user: list_page(eng, user, markers, form, args))
        rid = int(record_id)
        if rid > MAX_ID or environ.get("QUERY_STRING"):
            return self.flask(environ, start_response)
        return self._read(environ, start_response, token,
                          lambda eng, user: read_record(eng, user, markers, form, rid))

    def _read(self, environ, start_response, token, answer, text: bool = False):
        """A bounded read in one read transaction and one of the app's read lanes (as Flask's
        SHARED_READS, web/app.py), the lane kept until the server has written the answer
        (`_LaneBody`); any refusal or failure: Flask answers (a read can be asked twice).
        `text`: `answer` gives the JSON text itself, not the object to encode."""
        eng = self.app.extensions["loom.engine"]
        lanes = self.app.extensions["loom.read_lanes"]
        lane, handed = lanes.enter(), False
        try:
            with eng.db.read_scope():
                obj = answer(eng, eng.users.user_for_token(token, kind="api"))
                body = f"{obj}\n".encode() if text else self._body(obj)
            if lane:
                self._answer(environ, start_response, body)
                handed = True  # the answer's close() gives the lane back
                return _LaneBody(body, lanes.detach())
        except Exception:
            body = None
        finally:
            if lane and not handed:
                lanes.leave()
        if body is None:
            return self.flask(environ, start_response)
        return self._answer(environ, start_response, body)

    # --- the action POST ----------------------------------------------------------------

    def _act(self, environ, start_response, token, form, record_id, name):
        length = environ.get("CONTENT_LENGTH") or ""
        if environ.get("CONTENT_TYPE") != "application/json" or not length.isdigit() or \
                int(length) > MAX_BODY or "HTTP_TRANSFER_ENCODING" in environ:
            return self.flask(environ, start_response)
        raw = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(raw)  # Flask reads it again when it answers
        eng = self.app.extensions["loom.engine"]
        acting: list = []

        def user():
            """The token's user, read in the action's write transaction, in the writer lane:
            read beside it, by each of the threads a group commit has just woken, the token
            read bounced the GIL with the writer at every statement (16 clients in-process:
            2.1 ms of CPU per POST against 1.0 ms with no such read)."""
            try:
                acting.append(eng.users.user_for_token(token, kind="api"))
            except Exception as exc:
                raise _AskFlask() from exc
            return acting[0]

        try:
            payload = json.loads(raw)
            if isinstance(payload, dict) and len(raw) == int(length):
                eng.defs.form(form)
                act = action_request(eng, user, form, record_id, name, payload)
            else:
                act = None
        except Exception:
            act = None
        if act is None:  # nothing written: Flask answers the same request as it always has
            return self.flask(environ, start_response)
        try:
            markers = self.app.extensions["loom.utc_markers"]
            body = self._body(act(lambda rec: record_with_actions(rec, eng, acting[0], markers)))
        except _AskFlask:  # the token failed before the action was tried: nothing written
            return self.flask(environ, start_response)
        except Exception as exc:
            return self._flask_error(environ, start_response, exc)
        return self._answer(environ, start_response, body)

    def _flask_error(self, environ, start_response, exc: Exception):
        """The answer Flask gives when a view raises `exc`: its error handlers and after-request
        hooks in a request context of its own (the view's before-request hooks already ran here)."""
        app = self.app
        ctx = app.request_context(environ)
        error = None
        try:
            try:
                ctx.push()
                response = app.finalize_request(app.handle_user_exception(exc))
            except Exception as e:
                error = e
                response = app.handle_exception(e)
            return response(environ, start_response)
        finally:
            ctx.pop(error)

    # --- answers ----------------------------------------------------------------------

    def _body(self, obj) -> bytes:
        """`obj` as Flask's `jsonify` writes it. For the app's own provider, compact, the C
        encoder `json.dumps` would build is built once per setting (`_encoder`); anything else
        (indented in debug, another provider class) goes through `provider.dumps`."""
        provider = self.app.json
        encode = self._compact()
        if encode is None:
            indent = self._indent()
            text = provider.dumps(obj, **({"indent": 2} if indent else {"separators": (",", ":")}))
        else:
            text = "".join(encode(obj, 0))
        return f"{text}\n".encode()

    def _indent(self) -> bool:
        """Does Flask's provider indent its answers (`compact` unset in debug, or False)?"""
        provider = self.app.json
        return (provider.compact is None and self.app.debug) or provider.compact is False

    def _compact(self):
        """The C encoder Flask's compact answers are written with, or None (`_encoder`)."""
        return None if self._indent() else self._encoder(self.app.json)

    def _render(self):
        """A function giving an item's JSON text as `_compact`'s encoder writes it (None when
        there is none): one per encoder, so texts kept for it are found again."""
        encode = self._compact()
        if encode is None:
            return None
        hit = self._renders.get(encode)
        if hit is None:
            hit = self._renders[encode] = item_renderer(None, encode)
        return hit

    def _encoder(self, provider):
        """The C encoder `json.dumps(obj, separators=(",", ":"), default=provider.default,
        ensure_ascii=..., sort_keys=...)` builds for a dict, built once per those settings (an
        answer's encoding was a quarter of a list page's CPU, building the encoder and
        `JSONEncoder` a part of it). None when that is not what `provider.dumps` does. It keeps
        no circular-reference memory, so one encoder serves every thread: a cycle ends in
        RecursionError, not ValueError, and either way Flask answers the request."""
        if type(provider).dumps is not DefaultJSONProvider.dumps or c_make_encoder is None:
            return None
        key = (provider.default, bool(provider.ensure_ascii), bool(provider.sort_keys))
        hit = self._encoders.get(key)
        if hit is None:
            default, ascii_only, sort_keys = key
            hit = self._encoders[key] = c_make_encoder(
                None, default, encode_basestring_ascii if ascii_only else encode_basestring,
                None, ":", ",", sort_keys, False, True)
        return hit

    def _answer(self, environ, start_response, body: bytes):
        """A 200 with `body` and the headers Flask's hooks give an API answer."""
        provider = self.app.json
        https = environ.get("wsgi.url_scheme") == "https"
        headers = self._headers.get(https)
        if headers is None:
            h = Headers([("Content-Type", provider.mimetype), ("Content-Length", "0")])
            secure_headers(h, provider.mimetype, "/api/", https)
            h.add("Vary", "Cookie")  # as Flask's session adds: a cookie would change who asks
            headers = self._headers[https] = h.to_wsgi_list()
        headers = list(headers)
        headers[1] = ("Content-Length", str(len(body)))
        start_response("200 OK", headers)
        return [body]
