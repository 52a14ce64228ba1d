"""The hot API routes (web/hot_routes.py) answer exactly as Flask does: the same status, the
same headers in the same order and the same bytes, with every check made afresh; what they
do not answer themselves reaches Flask untouched."""
from __future__ import annotations

import re

import pytest
from flask import request_started

from tests.api.conftest import order_data
from web import create_app


@pytest.fixture
def flask_only(engine):
    app = create_app(engine, secret_key="test-secret", config={"LOOM_HOT_ROUTES": False})
    app.config["TESTING"] = True
    return app


@pytest.fixture
def dispatched(app):
    """The paths Flask dispatched (its request_started signal), in order."""
    seen: list[str] = []

    def note(sender, **extra):
        from flask import request
        seen.append(request.path)
    request_started.connect(note, app)
    yield seen
    request_started.disconnect(note, app)


def _answer(resp):
    return resp.status, resp.headers.to_wsgi_list(), resp.get_data()


def _no_line_ids(body: bytes) -> bytes:
    return re.sub(rb'"_id":"[0-9a-f]+"', b'"_id":""', body)


def _ask(app, method, path, token=None, **kw):
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **kw.pop("headers", {})}
    return getattr(app.test_client(), method)(path, headers=headers, **kw)


@pytest.fixture
def orders(engine, users, catalog):
    """Three orders of alice's, two of them submitted to sam."""
    recs = [engine.create(users["alice"], "sales_order", order_data(catalog)) for _ in range(3)]
    for rec in recs[:2]:
        engine.act(users["alice"], "sales_order", rec.id, "submit")
    return [r.id for r in recs]


READS = [
    ("alice", "/api/forms/sales_order/records/{0}"),
    ("sam", "/api/forms/sales_order/records/{1}"),
    ("alice", "/api/forms/sales_order/records"),
    ("alice", "/api/forms/sales_order/records?limit=2&offset=1&total=exact"),
    ("alice", "/api/forms/customer/records?limit=5"),
    ("sam", "/api/tasks"),
    ("sam", "/api/tasks?status=done"),
    ("alice", "/api/tasks"),
]


@pytest.mark.parametrize("who, path", READS)
def test_a_plain_read__is_answered_without_flask_byte_for_byte(app, flask_only, engine, orders,
                                                              dispatched, who, path):
    token = engine.create_token(who)
    path = path.format(*orders)
    hot = _ask(app, "get", path, token)
    assert dispatched == []  # answered in front of Flask
    assert hot.status_code == 200
    assert _answer(hot) == _answer(_ask(flask_only, "get", path, token))


@pytest.mark.parametrize("setting", [{"ensure_ascii": False}, {"sort_keys": True},
                                     {"compact": False}])
def test_the_apps_json_settings__are_kept_byte_for_byte(app, flask_only, engine, users, orders,
                                                       dispatched, setting):
    engine.create(users["alice"], "customer", {"name": "Zoë «Ωmega» \u2028 café", "region": "south"})
    token = engine.create_token("alice")
    for a in (app, flask_only):
        for name, value in setting.items():
            setattr(a.json, name, value)
    for path in ("/api/forms/customer/records", "/api/forms/sales_order/records", "/api/tasks"):
        hot = _ask(app, "get", path, token)
        assert hot.status_code == 200
        assert _answer(hot) == _answer(_ask(flask_only, "get", path, token))
    assert dispatched == []
    body = _ask(app, "get", "/api/forms/customer/records", token).get_data()
    assert ("Zoë".encode() in body) == (setting.get("ensure_ascii") is False)


def test_over_https__the_same_headers_as_flask_with_hsts(app, flask_only, engine, orders, dispatched):
    token = engine.create_token("alice")
    path = f"/api/forms/sales_order/records/{orders[0]}"
    hot = _ask(app, "get", path, token, base_url="https://localhost")
    assert dispatched == [] and hot.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert _answer(hot) == _answer(_ask(flask_only, "get", path, token, base_url="https://localhost"))


REFUSED = [
    ("alice", "/api/forms/sales_order/records/999999"),  # no such record: 404
    ("pat", "/api/forms/sales_order/records/{0}"),  # not readable by pat: 404
    ("alice", "/api/forms/nope/records/1"),  # no such form: 404
    ("alice", "/api/forms/nope/records"),
    ("alice", "/api/forms/sales_order/records?limit=9999"),  # out of range: 400
    ("alice", "/api/forms/sales_order/records?limit=x"),
    ("alice", "/api/forms/sales_order/records?total=some"),
    ("alice", "/api/tasks?status=lost"),
    ("alice", "/api/forms/sales_order/records/9223372036854775808"),  # beyond BIGINT: 404
    (None, "/api/tasks"),  # no token: 401
]


@pytest.mark.parametrize("who, path", REFUSED)
def test_a_refused_read__goes_to_flask_and_is_answered_as_ever(app, flask_only, engine, orders,
                                                               dispatched, who, path):
    token = engine.create_token(who) if who else None
    path = path.format(*orders)
    hot = _ask(app, "get", path, token)
    assert hot.status_code in (400, 401, 404)
    assert dispatched == [path.split("?")[0]]
    assert _answer(hot) == _answer(_ask(flask_only, "get", path, token))


def test_a_bad_or_revoked_token__is_refused_on_the_next_request(app, engine, orders, dispatched):
    token = engine.create_token("alice")
    path = f"/api/forms/sales_order/records/{orders[0]}"
    assert _ask(app, "get", path, token).status_code == 200
    engine.users.revoke_token(token)
    resp = _ask(app, "get", path, token)
    assert resp.status_code == 401 and resp.json["error"]["code"] == "not_authenticated"
    assert _ask(app, "get", path, token + "x").status_code == 401


def test_a_changed_role__counts_from_the_next_read(app, engine, users, orders):
    token = engine.create_token("sam")  # reads alice's order as a sales manager
    path = f"/api/forms/sales_order/records/{orders[2]}"
    assert _ask(app, "get", path, token).status_code == 200
    engine.users.update("sam", roles=["purchasing"])
    assert _ask(app, "get", path, token).status_code == 404
    engine.users.update("sam", roles=["sales_manager"])
    assert _ask(app, "get", path, token).status_code == 200


UNUSUAL = [
    ("get", "/api/forms/sales_order/records?limit=2&limit=3", {}),  # a parameter twice
    ("get", "/api/forms/sales_order/records?limit=%32", {}),  # escaped
    ("get", "/api/forms/sales_order/records?filter=state%20%3D%3D%20%27draft%27", {}),
    ("get", "/api/forms/sales_order/records/{0}?x=1", {}),
    ("get", "/api/forms/sales_order/records/0{0}", {}),  # a leading zero
    ("get", "/api/tasks?mine=1", {}),
    ("head", "/api/forms/sales_order/records/{0}", {}),
    ("get", "/api/forms/sales_order/records/{0}/history", {}),
]


@pytest.mark.parametrize("method, path, kw", UNUSUAL)
def test_an_unusual_request__is_flasks(app, flask_only, engine, orders, dispatched, method, path, kw):
    token = engine.create_token("alice")
    path = path.format(*orders)
    hot = _ask(app, method, path, token, **kw)
    assert dispatched == [path.split("?")[0]]
    assert _answer(hot) == _answer(_ask(flask_only, method, path, token, **kw))


def test_an_approval__is_answered_as_flask_answers_it(app, flask_only, engine, orders, dispatched):
    token = engine.create_token("sam")
    first, second = orders[:2]
    hot = _ask(app, "post", f"/api/forms/sales_order/records/{first}/actions/approve", token,
               json={"comment": "ok"})
    assert dispatched == [] and hot.status_code == 200 and hot.json["state"] == "approved"
    plain = _ask(flask_only, "post", f"/api/forms/sales_order/records/{second}/actions/approve",
                 token, json={"comment": "ok"})
    # two records alike but for their id, number and line ids
    other = plain.get_data().replace(f'"id":{second}'.encode(), f'"id":{first}'.encode()) \
        .replace(plain.json["number"].encode(), hot.json["number"].encode())
    assert (hot.status, hot.headers.to_wsgi_list(), _no_line_ids(hot.get_data())) == \
        (plain.status, plain.headers.to_wsgi_list(), _no_line_ids(other))
    assert engine.get(engine.user("sam"), "sales_order", first).state == "approved"


def test_a_refused_action__is_answered_by_flasks_error_handlers(app, flask_only, engine, users, orders,
                                                                dispatched):
    sam, alice = engine.create_token("sam"), engine.create_token("alice")
    url = f"/api/forms/sales_order/records/{orders[0]}/actions/approve"
    engine.act(users["sam"], "sales_order", orders[0], "approve")
    for token, body in ((sam, {}), (alice, {}), (sam, {"version": 1})):
        hot = _ask(app, "post", url, token, json=body)
        assert hot.status_code in (403, 409) and hot.json["error"]["code"]
        assert _answer(hot) == _answer(_ask(flask_only, "post", url, token, json=body))
    assert dispatched == []  # Flask's error handlers answered; the action was not asked twice
    assert engine.get(users["sam"], "sales_order", orders[0]).version == 3  # nothing written


@pytest.mark.parametrize("who", ["bob", "pat"])
def test_an_action_on_an_unreadable_record__is_the_same_404_and_writes_nothing(
        app, flask_only, engine, users, orders, dispatched, who):
    token = engine.create_token(who)  # bob: another rep (the row rule); pat: no read role
    url = f"/api/forms/sales_order/records/{orders[0]}/actions/approve"
    for body in ({}, {"version": 2, "comment": "ok"}, {"version": "two"}):
        hot = _ask(app, "post", url, token, json=body)
        assert hot.status_code == 404 and hot.json["error"]["code"] == "not_found"
        assert _answer(hot) == _answer(_ask(flask_only, "post", url, token, json=body))
    assert dispatched == [url]  # only the malformed version went to Flask (a refusal before a write)
    record = engine.get(users["alice"], "sales_order", orders[0])
    assert (record.state, record.version) == ("manager_review", 2)


def test_an_action_with_a_revoked_or_bad_token__is_flasks_401_and_writes_nothing(
        app, flask_only, engine, users, orders, dispatched):
    # the hot route reads the token inside the action's write (the writer lane): a token that
    # fails there rolls that write back before the action is tried, and Flask answers
    token = engine.create_token("sam")
    engine.users.revoke_token(token)
    url = f"/api/forms/sales_order/records/{orders[0]}/actions/approve"
    for bad in (token, token + "x"):
        hot = _ask(app, "post", url, bad, json={"comment": "ok"})
        assert hot.status_code == 401 and hot.json["error"]["code"] == "not_authenticated"
        assert _answer(hot) == _answer(_ask(flask_only, "post", url, bad, json={"comment": "ok"}))
    assert dispatched == [url, url]
    record = engine.get(users["sam"], "sales_order", orders[0])
    assert (record.state, record.version) == ("manager_review", 2)
    assert [e.action for e in engine.history(users["sam"], "sales_order", orders[0])][-1] == "submit"


BAD_BODIES = [
    {"comment": 5},
    {"to": 5},
    {"data": []},
    {"version": "two"},
    [1, 2],
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_bad_action_body__goes_to_flask_before_anything_is_written(app, flask_only, engine, users,
                                                                      orders, dispatched, body):
    token = engine.create_token("sam")
    url = f"/api/forms/sales_order/records/{orders[0]}/actions/approve"
    hot = _ask(app, "post", url, token, json=body)
    assert hot.status_code in (400, 422) and dispatched == [url]
    assert _answer(hot) == _answer(_ask(flask_only, "post", url, token, json=body))
    assert engine.get(users["sam"], "sales_order", orders[0]).state == "manager_review"


def test_a_cookie_session__keeps_its_csrf_check_even_with_a_bearer_header(app, engine, users, orders,
                                                                          dispatched):
    client = app.test_client()
    assert client.post("/api/session", json={"username": "sam", "password": "sam-pass-123"}).status_code == 201
    url = f"/api/forms/sales_order/records/{orders[0]}/actions/approve"
    resp = client.post(url, json={}, headers={"Authorization": f"Bearer {engine.create_token('sam')}"})
    assert resp.status_code == 400 and resp.json["error"]["code"] == "csrf_failed"
    assert url in dispatched
    assert engine.get(users["sam"], "sales_order", orders[0]).state == "manager_review"
    token = client.get("/api/session").json["csrf_token"]
    resp = client.post(url, json={}, headers={"X-CSRFToken": token})
    assert resp.status_code == 200 and resp.json["state"] == "approved"


def test_a_failure_after_the_action__is_flasks_500_and_the_action_ran_once(app, flask_only, engine, users,
                                                                           orders, dispatched,
                                                                           monkeypatch):
    token = engine.create_token("sam")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug while answering")
    monkeypatch.setattr(engine, "make_targets", broken)
    answers = []
    for app_, rid in ((app, orders[0]), (flask_only, orders[1])):
        resp = _ask(app_, "post", f"/api/forms/sales_order/records/{rid}/actions/approve", token, json={})
        answers.append(_answer(resp))
        record = engine.get(users["sam"], "sales_order", rid)
        assert (record.state, record.version) == ("approved", 3)  # done once, not tried again
    assert answers[0] == answers[1] and answers[0][0] == "500 INTERNAL SERVER ERROR"
    assert b'"internal_error"' in answers[0][2]
    assert dispatched == []


def test_a_failed_statement_while_answering__undoes_nothing_of_the_action(app, flask_only, engine,
                                                                          users, orders, monkeypatch):
    """The answer is read in the action's transaction; a statement failing there (which on
    PostgreSQL aborts a whole transaction) is undone alone: the action commits, the answer is a 500."""
    token = engine.create_token("sam")

    def broken(*args, **kwargs):
        with engine.db.read() as conn:
            conn.exec_driver_sql("SELECT no_such_column FROM records")
    monkeypatch.setattr(engine, "make_targets", broken)
    for app_, rid in ((app, orders[0]), (flask_only, orders[1])):
        resp = _ask(app_, "post", f"/api/forms/sales_order/records/{rid}/actions/approve", token, json={})
        assert resp.status_code == 500
        record = engine.get(users["sam"], "sales_order", rid)
        assert (record.state, record.version) == ("approved", 3)
        assert rid not in [t.record_id for t in engine.tasks(users["sam"])]  # the task is done
    assert len(engine.history(users["sam"], "sales_order", orders[0])) == \
        len(engine.history(users["sam"], "sales_order", orders[1]))


def test_a_request_hook_added_later__sends_every_request_to_flask(app, engine, orders, dispatched):
    token = engine.create_token("alice")
    path = f"/api/forms/sales_order/records/{orders[0]}"
    assert _ask(app, "get", path, token).status_code == 200 and dispatched == []
    refused = []

    @app.before_request
    def _a_new_check():
        refused.append(path)
        return {"error": {"code": "new_rule", "message": "no", "fields": {}}}, 403

    resp = _ask(app, "get", path, token)
    assert resp.status_code == 403 and refused == [path] and dispatched == [path]
