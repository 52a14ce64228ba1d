"""The API keeps what its OpenAPI document says (issue 12 item 7): every status a route answers is
documented for it, 405s say which methods are allowed, and date-time values carry a UTC offset."""
from __future__ import annotations

import re

import pytest

from tests.api.conftest import order_data

OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")
METHODS = ("get", "post", "patch", "put", "delete")
LOCKOUT_TRIES = 12


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def concrete(path: str, record_id: int) -> str:
    return path.replace("{id}", str(record_id)).replace("{name}", "approve")


def probes(method: str, path: str):
    """Requests meant to provoke every answer a route can give: bad input of each kind."""
    if method == "get":
        yield {}
        yield {"query_string": {"filter": "nope ==", "order": "nope", "limit": "x", "offset": "-1",
                                "status": "nope", "unread": "maybe", "since": "not a date",
                                "format": "pdf", "region": "mars"}}
        yield {"query_string": {"filter": "customer.region == 'north'", "order": "-id"}}
        return
    yield {"data": "not json", "content_type": "application/json"}
    yield {"json": []}
    yield {"json": {}}
    yield {"json": {"data": 5, "version": "x", "comment": 5, "to": 5, "ids": "x", "id": "x",
                    "username": 1}}
    yield {"json": {"data": {"name": "a\x00b"}, "username": "alice", "password": "\x00"}}
    yield {"json": {"data": {"name": "Acme", "customer": 1, "due_date": "2026-03-20"},
                    "version": 1, "comment": "ok", "username": "alice", "password": "wrong-password"}}
    yield {"json": {"data": {}, "version": 999, "to": "nobody"}}
    yield {"data": b"x" * 2000, "content_type": "text/csv"}
    yield {"json": {"data": {"name": "x" * 2000}, "username": "x" * 2000, "password": "x"}}


@pytest.mark.outbox_ok  # submitting an order notifies its approvers
def test_every_status_a_route_answers_is_documented(app, api, engine, users, catalog):
    app.config["MAX_CONTENT_LENGTH"] = 1500  # so the large probe is a 413
    doc = api("alice").get("/api/openapi.json").json
    order = engine.create(users["alice"], "sales_order", order_data(catalog))
    engine.act(users["alice"], "sales_order", order.id, "submit")
    seen: dict[tuple[str, str], set[int]] = {}
    for path, method, op in operations(doc):
        for record_id in (order.id, 10**12):
            url = concrete(path, record_id)
            for who in ("alice", "fiona", None):
                for kw in probes(method, path):
                    r = getattr(api(who), method)(url, **kw)
                    seen.setdefault((path, method), set()).add(r.status_code)
    # a locked account: the login's own 429
    for _ in range(LOCKOUT_TRIES):
        r = api(None).post("/api/session", json={"username": "bob", "password": "wrong-password"})
        seen[("/api/session", "post")].add(r.status_code)
    undocumented = {f"{m.upper()} {p}": sorted(s - {int(c) for c in doc["paths"][p][m]["responses"]})
                    for (p, m), s in seen.items()}
    missing = {k: v for k, v in undocumented.items() if v}
    assert missing == {}, "\n".join(f"{k}: {v}" for k, v in sorted(missing.items()))
    assert all(500 not in s for s in seen.values())
    assert 429 in seen[("/api/session", "post")] and 413 in seen[("/api/session", "post")]


def test_a_405_says_which_methods_are_allowed(app, api):
    r = api("alice").delete("/api/forms/customer/records")
    assert r.status_code == 405
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert r.json["error"]["code"] == "method_not_allowed"
    r = app.test_client().put("/login")
    assert r.status_code == 405 and "GET" in r.headers["Allow"] and "POST" in r.headers["Allow"]


def date_times(schema, value, resolve, out):
    """Every value the schema declares `date-time`, found by walking schema and value together."""
    if value is None or not isinstance(schema, dict):
        return
    if "$ref" in schema:
        return date_times(resolve(schema["$ref"]), value, resolve, out)
    for part in schema.get("allOf", ()):
        date_times(part, value, resolve, out)
    if schema.get("format") == "date-time":
        out.append(value)
    if isinstance(value, dict):
        for k, v in value.items():
            date_times(schema.get("properties", {}).get(k), v, resolve, out)
    if isinstance(value, list):
        for v in value:
            date_times(schema.get("items"), v, resolve, out)


@pytest.mark.outbox_ok  # approval notifies the sales rep
def test_date_times_carry_a_utc_offset_wherever_the_api_declares_date_time(api, engine, users, catalog):
    order = engine.create(users["alice"], "sales_order", order_data(catalog))
    engine.act(users["alice"], "sales_order", order.id, "submit")
    engine.act(users["sam"], "sales_order", order.id, "approve")
    a = api("alice")
    doc = a.get("/api/openapi.json").json

    def resolve(ref):
        return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]

    base = "/api/forms/sales_order/records"
    answers = [(a.get(f"{base}/{order.id}").json, f"{base}/{{id}}", "get"),
               (a.get(base).json, base, "get"),
               (api("root").post(f"{base[:-len('/records')]}/preview", json={"id": order.id, "data": {}}).json,
                None, None)]
    found = []
    for body, path, method in answers[:2]:
        schema = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        date_times(schema, body, resolve, found)
    assert len(found) >= 6  # created_at, updated_at and approved_at, twice
    assert [v for v in found if not OFFSET.match(v)] == []
    # the preview's values are the same data
    approved = answers[2][0]["values"]["approved_at"]
    assert OFFSET.match(approved), approved
