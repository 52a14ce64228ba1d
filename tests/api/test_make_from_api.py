"""make_from and line pickers over the JSON API (issue 13 items 2 and 5), on
tests/fixtures/make_from: GET /new?from= (the prefilled draft), POST /records?from= or
{"from"}, the lines endpoint for pickers, and the record's `make` list."""
from __future__ import annotations

import pytest

from tests.conftest import FIXTURES, make_engine
from web import create_app

USERS = {"alice": ["requester"], "bob": ["requester"], "kim": ["keeper"], "val": ["viewer"]}


@pytest.fixture
def eng(database_url, clock):
    e = make_engine(FIXTURES / "make_from", database_url, clock)
    for name, roles in USERS.items():
        e.add_user(name, roles)
    yield e
    e.close()


@pytest.fixture
def call(eng):
    app = create_app(eng, secret_key="test-secret")
    app.config["TESTING"] = True
    client = app.test_client()

    def call(name, method, path, json=None):
        headers = {"Authorization": f"Bearer {eng.create_token(name)}"}
        return getattr(client, method)(path, json=json, headers=headers)
    return call


@pytest.fixture
def req(call):
    r = call("alice", "post", "/api/forms/request/records", {"data": {
        "supplier": "Northwind", "site": "Dock 1",
        "items": [{"item": "Bolt", "qty": 10}, {"item": "Nut", "qty": 4}]}})
    assert r.status_code == 201, r.json
    rid = r.json["id"]
    assert r.json["make"] == []  # a draft request allows no handover yet
    r = call("alice", "post", f"/api/forms/request/records/{rid}/actions/approve", {})
    assert r.status_code == 200, r.json
    return r.json


def test_get_new_from__answers_the_prefilled_draft_and_writes_nothing(call, req):
    r = call("kim", "get", f"/api/forms/handover/new?from=request:{req['id']}")
    assert r.status_code == 200, r.json
    ids = [row["_id"] for row in req["data"]["items"]]
    assert r.json["from"] == f"request:{req['id']}"
    assert r.json["errors"] == {}
    assert r.json["values"]["request"] == req["id"]
    assert [(row["request_item"], row["qty"], row["item_name"])
            for row in r.json["values"]["items"]] == [(ids[0], 10, "Bolt"), (ids[1], 4, "Nut")]
    assert call("kim", "get", "/api/forms/handover/records").json["total"] == 0


def test_post_from__in_the_query_or_the_body_creates_the_record(call, req):
    ids = [row["_id"] for row in req["data"]["items"]]
    r = call("kim", "post", f"/api/forms/handover/records?from=request:{req['id']}",
             {"data": {"note": "first", "items": [{"request_item": ids[0], "qty": 2}]}})
    assert r.status_code == 201, r.json
    assert (r.json["data"]["request"], r.json["data"]["note"]) == (req["id"], "first")
    assert [(x["request_item"], x["qty"]) for x in r.json["data"]["items"]] == [(ids[0], 2)]
    r = call("kim", "post", "/api/forms/handover/records", {"from": f"request:{req['id']}"})
    assert r.status_code == 201, r.json
    assert len(r.json["data"]["items"]) == 2


def test_post_from__refusals_say_why(call, req):
    ids = [row["_id"] for row in req["data"]["items"]]
    r = call("kim", "post", f"/api/forms/handover/records?from=request:{req['id']}",
             {"data": {"items": [{"request_item": ids[1], "qty": 9}]}})
    assert r.status_code == 422
    assert r.json["error"]["fields"] == {"items[0].qty": "more than is still open"}
    assert call("val", "get", f"/api/forms/handover/new?from=request:{req['id']}").status_code == 403
    assert call("bob", "get", f"/api/forms/handover/new?from=request:{req['id']}").status_code == 404
    r = call("kim", "get", "/api/forms/handover/new?from=request")
    assert (r.status_code, list(r.json["error"]["fields"])) == (422, ["from"])
    r = call("kim", "post", f"/api/forms/request/records/{req['id']}/actions/close", {})
    assert r.status_code == 200, r.json
    r = call("kim", "post", "/api/forms/handover/records", {"from": f"request:{req['id']}"})
    assert r.status_code == 409
    assert r.json["error"]["message"] == f"{req['number']} does not allow making a Handover now"


def test_record__lists_what_the_user_may_make_from_it(call, req):
    assert call("kim", "get", f"/api/forms/request/records/{req['id']}").json["make"] == [
        "handover", "pickup"]
    assert call("alice", "get", f"/api/forms/request/records/{req['id']}").json["make"] == ["handover"]


def test_lines_endpoint__offers_readable_lines_within_a_record(call, req):
    other = call("bob", "post", "/api/forms/request/records", {"data": {
        "supplier": "Contoso", "items": [{"item": "Pin", "qty": 1}]}}).json
    ids = [row["_id"] for row in req["data"]["items"]]
    r = call("kim", "get", f"/api/forms/request/tables/items/lines?within={req['id']}")
    assert r.status_code == 200
    assert r.json["items"] == [{"id": ids[0], "title": f"{req['number']} · Bolt × 10"},
                               {"id": ids[1], "title": f"{req['number']} · Nut × 4"}]
    r = call("bob", "get", "/api/forms/request/tables/items/lines")
    assert [x["id"] for x in r.json["items"]] == [other["data"]["items"][0]["_id"]]
    assert call("kim", "get", "/api/forms/request/tables/nope/lines").status_code == 404


def test_openapi__describes_new_from_and_the_lines_endpoint(call):
    doc = call("kim", "get", "/api/openapi.json").json
    assert "from" in {p["name"] for p in doc["paths"]["/api/forms/handover/new"]["get"]["parameters"]}
    create = doc["paths"]["/api/forms/handover/records"]["post"]
    assert [p["name"] for p in create["parameters"]] == ["from"]
    assert "409" in create["responses"]
    assert "/api/forms/request/tables/items/lines" in doc["paths"]
