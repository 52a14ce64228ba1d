"""Request limits with the app's own defaults (no test sets a limit here): bodies over
8 MB get 413 unread on every route, under Flask and under waitress; oversized
passwords are refused before hashing; the API description needs no login."""
from __future__ import annotations

import io
import socket
import threading

import pytest
from waitress.server import create_server

from web import create_app
from web.security import MAX_CONTENT_LENGTH, waitress_options

from .test_security import _csrf, browser_login

BIG = 20 * 1024 * 1024


def test_a_20_mb_json_body__413_by_default(api):
    payload = '{"data": {"name": "' + "x" * BIG + '"}}'
    r = api("alice").post("/api/forms/customer/records", data=payload,
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"
    assert "8 MB" in r.json["error"]["message"]


def test_an_upload_over_the_cap__413_on_the_import_page(app):
    c, _ = browser_login(app, "pat")
    token = _csrf(c.get("/f/product/import").text)
    big = io.BytesIO(b"sku,name,price\n" + b"X,Y,1\n" * (MAX_CONTENT_LENGTH // 6 + 10))
    r = c.post("/f/product/import", data={"csrf_token": token, "file": (big, "p.csv")},
               content_type="multipart/form-data")
    assert r.status_code == 413


def test_a_body_over_the_cap_on_the_login_page__413_before_csrf_or_password(app):
    r = app.test_client().post("/login", data={"username": "alice", "password": "p" * BIG})
    assert r.status_code == 413


@pytest.fixture
def served(engine):
    app = create_app(engine, secret_key="limits")
    srv = create_server(app, host="127.0.0.1", port=0, threads=2, **waitress_options(app))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield srv.effective_port
    srv.close()
    thread.join(timeout=5)


def test_waitress_refuses_a_declared_20_mb_body_without_waiting_for_it(served):
    with socket.create_connection(("127.0.0.1", served), timeout=10) as s:
        s.sendall(b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n{" % BIG)
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]


def test_a_password_over_1024_characters__refused_before_hashing(api, engine):
    long = "p" * 1025
    r = api(None).post("/api/session", json={"username": "alice", "password": long})
    assert r.status_code == 400 and r.json["error"]["code"] == "password_too_long"
    assert r.json["error"]["message"] == "a password is at most 1024 characters"
    # and it did not count as a failed login: alice still gets in after more than 5 of them
    for _ in range(6):
        api(None).post("/api/session", json={"username": "alice", "password": long})
    assert api(None).post("/api/session", json={"username": "alice",
                                                "password": "alice-pass-123"}).status_code == 201


def test_the_api_description_is_readable_without_a_login(api):
    r = api(None).get("/api/openapi.json")
    assert r.status_code == 200 and r.json["openapi"] == "3.1.0"
    assert api(None).get("/api/definitions").status_code == 401  # the rest still needs one
