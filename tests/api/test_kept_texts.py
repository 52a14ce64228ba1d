"""List pages and the inbox answered by the hot routes are written from each row's kept text
(engine/records/listing.py `Pages.rendered`, engine/workflow/tasks.py `inbox_rendered`): a
row read again unchanged gives the text it gave before; a changed row, another asker's hidden
fields or a marked date-time give their own; the bytes are Flask's."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from engine.store import tables as t

from tests.api.conftest import order_data
from tests.scenarios.test_order_to_cash import World, erp  # noqa: F401  (fixture)
from web import create_app

PATH = "/api/forms/sales_order/records?limit=10"


@pytest.fixture
def flask_only(engine):
    app = create_app(engine, secret_key="test-secret", config={"LOOM_HOT_ROUTES": False})
    app.config["TESTING"] = True
    return app


def _get(app, token, path=PATH) -> bytes:
    resp = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    return resp.get_data()


def test_a_row_changed_or_approved__is_answered_as_it_is_now(app, flask_only, engine, users,
                                                               catalog):
    alice, sam = users["alice"], users["sam"]
    ids = [engine.create(alice, "sales_order", order_data(catalog)).id for _ in range(3)]
    token, manager = engine.create_token("alice"), engine.create_token("sam")
    first = _get(app, token)
    assert _get(app, token) == first == _get(flask_only, token)
    engine.update(alice, "sales_order", ids[0], {"channel": "email"}, version=1)
    engine.act(alice, "sales_order", ids[1], "submit")
    engine.act(sam, "sales_order", ids[1], "approve")
    now = _get(app, token)
    assert now != first and now == _get(flask_only, token)
    items = {i["id"]: i for i in json.loads(now)["items"]}
    assert items[ids[0]]["data"]["channel"] == "email"
    assert items[ids[1]]["state"] != "draft"
    assert items[ids[1]]["data"]["approved_at"].endswith("Z")  # a date-time marked UTC
    assert _get(app, manager) == _get(flask_only, manager)  # the same rows, another asker
    assert _get(app, token, PATH + "&offset=1") == _get(flask_only, token, PATH + "&offset=1")


@pytest.mark.outbox_ok  # the app's alerts email users who have no address
def test_the_same_row_rendered_for_two_askers__keeps_each_ones_hidden_fields(erp):  # noqa: F811
    world = World(erp)
    pat, alice = erp.user("pat"), erp.user("alice")

    def render(item: dict) -> str:
        return json.dumps(item)
    for _ in range(2):  # the second round finds the kept texts
        texts, _, _ = erp.list_rendered(pat, "product", limit=100, render=render)
        seen = {i["id"]: i for i in map(json.loads, texts)}
        assert seen[world.chair.id]["data"]["cost"] == "400.00"
        texts, _, _ = erp.list_rendered(alice, "product", limit=100, render=render)
        theirs = [json.loads(text) for text in texts]
        assert world.chair.id in {i["id"] for i in theirs}
        assert all("cost" not in i["data"] for i in theirs)
        assert theirs == erp.list(alice, "product", limit=100, as_json=True).items


def test_an_inbox_task_changed_or_decided__is_answered_as_it_is_now(app, flask_only, engine,
                                                                    users, catalog):
    alice, sam = users["alice"], users["sam"]
    ids = [engine.create(alice, "sales_order", order_data(catalog)).id for _ in range(3)]
    for rid in ids:
        engine.act(alice, "sales_order", rid, "submit")
    token = engine.create_token("sam")
    first = _get(app, token, "/api/tasks")
    assert _get(app, token, "/api/tasks") == first == _get(flask_only, token, "/api/tasks")
    engine.act(sam, "sales_order", ids[0], "approve")
    with engine.db.write() as conn:  # a task still open, its row changed
        conn.execute(sa.update(t.tasks).where(t.tasks.c.record_id == ids[1])
                     .values(due_at=datetime(2026, 5, 1, 12, 0)))
    for path in ("/api/tasks", "/api/tasks?status=done", "/api/tasks?limit=1&offset=1"):
        assert _get(app, token, path) == _get(flask_only, token, path)
    now = json.loads(_get(app, token, "/api/tasks"))["items"]
    assert [i["record_id"] for i in now] == ids[:0:-1]
    assert {i["record_id"]: i["due_at"] for i in now}[ids[1]] == "2026-05-01T12:00:00Z"
