"""A list page answered by the hot route is written from each row's kept text
(engine/records/listing.py `Pages.rendered`): a row read again unchanged gives the text it
gave before, a changed row, another asker's hidden fields or a marked date-time give their
own, and the bytes are Flask's."""
from __future__ import annotations

import json

import pytest

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
