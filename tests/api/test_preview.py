"""The live preview (POST /api/forms/{form}/preview): what it answers is what a save stores.

Every expression is run both ways: the preview of a draft against the record the HTTP API
saves from the same draft (tests/fixtures/preview/forms/calc.yaml has a computed field per
built-in function and operator).
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.definitions.catalog import load_definitions
from engine.expr import default_functions
from web import create_app

from ..conftest import FIXTURES, make_engine
from .conftest import Api

LAB = FIXTURES / "preview"


@pytest.fixture
def lab(database_url, clock):
    eng = make_engine(LAB, database_url, clock)
    eng.add_user("cal", ["clerk"], password="cal-pass-123")
    eng.add_user("vic", ["viewer"], password="vic-pass-123")
    eng.add_user("ned", [], password="ned-pass-123")
    yield eng
    eng.close()


@pytest.fixture
def lab_api(lab):
    app = create_app(lab, secret_key="preview-test")
    app.config["TESTING"] = True
    return lambda name: Api(app, lab.create_token(name))


@pytest.fixture
def supplier(lab):
    return lab.create(lab.user("cal"), "supplier", {"name": "Acme", "region": "north", "discount": "10",
                                                    "base_price": "4.00"})


def drafts(supplier_id: int) -> list[dict]:
    full = {"name": "Acme Co", "note": "hello", "qty": 7, "price": "12.50", "rate": "15",
            "start": "2026-02-17", "finish": "2026-05-03", "flag": False, "kind": "custom",
            "supplier": supplier_id, "reason": "custom work",
            "lines": [{"item": "a", "qty": 2, "price": "60"},
                      {"item": "b", "kind": "custom", "size": "XL", "qty": 11, "note": "big one"},
                      {"item": "c", "kind": "stock", "qty": 1, "price": "0.35"}]}
    return [
        full,
        {"name": "x"},  # nearly empty: nulls everywhere, aggregates of no lines
        {"name": "Zed", "qty": 3, "price": "0.10", "rate": "33.33", "start": "2025-12-31",
         "finish": "2026-01-01", "flag": True, "kind": "rush",
         "lines": [{"item": "priced", "qty": 3, "price": "0.33"}, {"item": "unpriced", "qty": 1}]},
        {"name": "Packed", "qty": 100, "price": "999.99", "rate": "0", "start": "2024-02-29",
         "finish": "2024-03-01", "kind": "plain", "supplier": supplier_id, "reason": "volume",
         "lines": [{"item": str(i), "qty": i, "price": f"{i}.05"} for i in range(1, 6)]},
    ]


def computed_exprs(lab) -> list:
    form = lab.defs.form("calc")
    out = []
    for f in form.fields:
        for c in (f.fields if f.is_table else (f,)):
            out += [e for e in (c.compute, c.visible_if, c.required_if,
                                c.default.expr if c.default is not None and c.default.is_expr else None)
                    if e is not None]
    return out


def test_the_fixture_uses_every_built_in_function_and_operator(lab):
    exprs = computed_exprs(lab)
    assert len(exprs) >= 25
    called = set().union(*(e.functions() for e in exprs))
    builtins = set(default_functions().names())  # engine/expr/builtins.py, no plugins
    assert builtins <= called, f"not covered: {sorted(builtins - called)}"
    text = " ".join(e.source for e in exprs)
    for op in ("+", " - ", "-price", "*", " / ", "//", "%", "**", "==", "!=", " < ", "<=", " > ", ">=",
               " in [", " if ", " else ", "not ", " and ", " or ", "parent.", "supplier."):
        assert op in text, op


def new_lines_without_ids(data: dict) -> dict:
    """A saved record's values as a preview shows them: a new line gets its id when saved."""
    return {k: [{c: x for c, x in r.items() if c != "_id"} for r in v]
            if isinstance(v, list) and v and isinstance(v[0], dict) else v
            for k, v in data.items()}


def test_preview_keeps_the_ids_of_the_lines_a_save_keeps(lab_api, supplier):
    api = lab_api("cal")
    rec = api.post("/api/forms/calc/records", json={"data": drafts(supplier.id)[2]}).get_json()
    kept = rec["data"]["lines"][0]
    change = {"lines": [kept, {"_id": "forged", "item": "y", "qty": 1}]}
    preview = api.post("/api/forms/calc/preview", json={"data": change, "id": rec["id"]}).get_json()
    assert preview["values"]["lines"][0]["_id"] == kept["_id"]
    assert "_id" not in preview["values"]["lines"][1]


@pytest.mark.parametrize("which", range(4))
def test_preview_values_are_the_values_a_save_stores(lab, lab_api, supplier, which):
    api = lab_api("cal")
    draft = drafts(supplier.id)[which]
    preview = api.post("/api/forms/calc/preview", json={"data": draft})
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["errors"] == {}
    saved = api.post("/api/forms/calc/records", json={"data": draft})
    assert saved.status_code == 201, saved.get_json()
    assert body["values"] == new_lines_without_ids(saved.get_json()["data"])
    again = api.get(f"/api/forms/calc/records/{saved.get_json()['id']}").get_json()["data"]
    assert body["values"] == new_lines_without_ids(again)


def test_round_and_count_preview_real_values_not_zero(lab_api, supplier):
    api = lab_api("cal")
    no_supplier = api.post("/api/forms/calc/preview", json={"data": drafts(supplier.id)[2]}).get_json()
    assert (no_supplier["values"]["c_count"], no_supplier["values"]["c_count_col"]) == (2, 1)
    body = api.post("/api/forms/calc/preview", json={"data": drafts(supplier.id)[0]}).get_json()
    v = body["values"]
    assert (v["c_round"], v["c_count"], v["c_count_col"], v["c_sum"]) == ("29.1700", 3, 3, "164.35")
    assert [line["amount"] for line in v["lines"]] == ["120.00", "44.00", "0.35"]
    assert v["lines"][1]["price"] == "4.00"  # a line's default read through the supplier link
    assert v["region"] == "north"  # a field's default read through the link
    assert (v["c_today"], v["c_now"], v["c_has_role"]) == ("2026-03-02", "2026-03-02T09:00:00Z", True)


def test_preview_of_an_edit_matches_the_update(lab_api, supplier):
    api = lab_api("cal")
    rec = api.post("/api/forms/calc/records", json={"data": drafts(supplier.id)[2]}).get_json()
    change = {"qty": 9, "lines": [{"item": "x", "qty": 4, "price": "2.50"}, {"item": "y", "qty": 1}]}
    preview = api.post("/api/forms/calc/preview", json={"data": change, "id": rec["id"]}).get_json()
    saved = api.patch(f"/api/forms/calc/records/{rec['id']}", json={"data": change, "version": rec["version"]})
    assert saved.status_code == 200, saved.get_json()
    assert preview["values"] == new_lines_without_ids(saved.get_json()["data"])
    assert preview["values"]["name"] == "Zed"  # fields not sent keep the record's values


def test_visible_if_and_required_if_per_line(lab_api, supplier):
    api = lab_api("cal")
    draft = {"name": "lines", "qty": 12, "kind": "plain",
             "lines": [{"item": "a", "kind": "stock", "qty": 11},
                       {"item": "b", "kind": "custom", "qty": 2},
                       {"item": "c", "kind": "custom", "qty": 20, "note": "ok"}]}
    body = api.post("/api/forms/calc/preview", json={"data": draft}).get_json()
    vis, req = body["visible"], body["required"]
    assert [vis[f"lines[{i}].size"] for i in range(3)] == [False, True, True]
    assert [req[f"lines[{i}].note"] for i in range(3)] == [True, False, True]
    assert (vis["reason"], req["reason"]) == (False, False)  # hidden: never required
    assert req["name"] is False and vis["lines"] is True
    saved = api.post("/api/forms/calc/records", json={"data": draft})
    assert saved.status_code == 422
    assert body["errors"] == saved.get_json()["error"]["fields"] == {"lines[0].note": "is required"}
    shown = api.post("/api/forms/calc/preview", json={"data": {**draft, "kind": "custom"}}).get_json()
    assert (shown["visible"]["reason"], shown["required"]["reason"]) == (True, True)
    assert shown["errors"] == {"reason": "is required", "lines[0].note": "is required"}


def test_errors_are_the_errors_a_save_answers(lab_api):
    api = lab_api("cal")
    draft = {"name": "bad", "qty": 0, "price": "abc", "start": "2026-13-01",
             "lines": [{"item": "a", "qty": 2, "price": "1"}]}
    body = api.post("/api/forms/calc/preview", json={"data": draft}).get_json()
    saved = api.post("/api/forms/calc/records", json={"data": draft})
    assert saved.status_code == 422
    assert body["errors"] == saved.get_json()["error"]["fields"]
    assert "lines[0].share" in body["errors"]  # qty / parent.qty with qty 0


def test_a_value_another_record_has_is_an_error_as_on_save(lab_api, supplier):
    api = lab_api("cal")
    draft = {"name": "Acme", "base_price": "1.00"}
    body = api.post("/api/forms/supplier/preview", json={"data": draft}).get_json()
    saved = api.post("/api/forms/supplier/records", json={"data": draft})
    assert saved.status_code == 422
    assert body["errors"] == saved.get_json()["error"]["fields"] == {"name": "Acme is already used by another record"}
    own = api.post("/api/forms/supplier/preview", json={"data": {"name": "Acme"}, "id": supplier.id}).get_json()
    assert own["errors"] == {}  # its own name is no clash


def test_links_are_read_with_the_readers_permissions(lab_api, supplier):
    # vic may create calculations but not read suppliers: the preview neither shows the
    # supplier's values nor says more than a save would
    body = lab_api("vic").post("/api/forms/calc/preview", json={"data": {
        "supplier": supplier.id, "lines": [{"item": "a", "qty": 1}]}}).get_json()
    assert body["values"]["region"] is None and body["values"]["lines"][0]["price"] is None
    assert body["values"]["c_link"] is None
    assert body["errors"] == {"supplier": f"no supplier record with id {supplier.id}"}


def test_preview_writes_nothing(lab, lab_api, supplier):
    api = lab_api("cal")
    statements = []
    listen = lambda conn, cursor, sql, *a: statements.append(sql.lstrip().split()[0].upper())  # noqa: E731
    sa.event.listen(lab.db.engine, "before_cursor_execute", listen)
    try:
        for draft in drafts(supplier.id):
            assert lab.preview(lab.user("cal"), "calc", draft).errors == {}
    finally:
        sa.event.remove(lab.db.engine, "before_cursor_execute", listen)
    assert statements and set(statements) <= {"SELECT", "BEGIN", "SET"}, set(statements)
    for draft in drafts(supplier.id):
        assert api.post("/api/forms/calc/preview", json={"data": draft}).status_code == 200
    assert lab.list(lab.user("cal"), "calc").total == 0
    assert [e.action for e in lab.history(lab.user("cal"), "supplier", supplier.id)] == ["create"]


def test_preview_needs_the_right_to_save(lab, lab_api, supplier):
    assert lab_api("ned").post("/api/forms/calc/preview", json={"data": {}}).status_code == 403
    rec = lab.create(lab.user("cal"), "calc", {"name": "mine"})
    assert lab_api("ned").post("/api/forms/calc/preview",
                               json={"data": {}, "id": rec.id}).status_code == 404
    assert lab_api("cal").post("/api/forms/calc/preview",
                               json={"data": {}, "id": rec.id + 99}).status_code == 404
    bad = lab_api("cal").post("/api/forms/calc/preview", json={"data": {}, "id": "1"})
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"] == {"id": "must be an integer record id"}
    assert lab_api("cal").post("/api/forms/nope/preview", json={"data": {}}).status_code == 404
    assert lab_api("cal").post("/api/forms/calc/preview", json={"data": {"zzz": 1}}).get_json()["errors"] == \
        {"zzz": "unknown field"}


def test_cookie_sessions_need_the_csrf_header(lab):
    app = create_app(lab, secret_key="preview-test")
    client = app.test_client()
    login = client.post("/api/session", json={"username": "cal", "password": "cal-pass-123"})
    token = login.get_json()["csrf_token"]
    assert client.post("/api/forms/calc/preview", json={"data": {}}).status_code == 400
    ok = client.post("/api/forms/calc/preview", json={"data": {"qty": 2}}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200 and ok.get_json()["values"]["c_abs"] == 8


def test_the_route_is_in_the_openapi_document(lab_api):
    doc = lab_api("cal").get("/api/openapi.json").get_json()
    op = doc["paths"]["/api/forms/calc/preview"]["post"]
    assert op["operationId"] == "calc_preview"
    assert set(op["responses"]["200"]["content"]["application/json"]["schema"]["required"]) == \
        {"values", "visible", "required", "errors"}


def test_the_form_page_preview_answers_by_the_pages_row_numbers(lab, supplier):
    """The page posts itself form-encoded; blank rows (dropped by a save) and gaps left by
    removed rows must not shift a line's answer onto another row."""
    client = create_app(lab, secret_key="preview-test").test_client()
    csrf = client.post("/api/session", json={"username": "cal", "password": "cal-pass-123"}).get_json()["csrf_token"]
    form = {"csrf_token": csrf, "f.name": "Page", "f.qty": "4", "f.supplier": str(supplier.id),
            "f.lines.0.item": "", "f.lines.0.qty": "",                                 # blank: not saved
            "f.lines.3.item": "a", "f.lines.3.kind": "custom", "f.lines.3.qty": "2", "f.lines.3.price": "5",
            "f.lines.7.item": "b", "f.lines.7.qty": "11", "f.lines.7.price": ""}         # price: the default
    answer = client.post("/f/calc/preview", data=form)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["texts"]["f-lines-3-amount"] == "10.00" and body["texts"]["f-lines-7-amount"] == "44.00"
    assert body["texts"]["f-lines-0-amount"] == ""
    assert body["texts"]["f-c_count"] == "2" and body["texts"]["f-c_round"] == ""  # no price yet
    assert body["fill"] == {"f-region": "north", "f-lines-7-price": "4.00"}
    assert (body["visible"]["f-lines-3-size"], body["visible"]["f-lines-7-size"]) == (True, False)
    assert body["visible"]["f-lines-0-size"] is False  # the blank row's flags, as an empty line
    assert (body["required"]["f-lines-7-note"], body["required"]["f-lines-3-note"]) == (True, False)
    assert body["visible"]["f-reason"] is False
    saved = lab.preview(lab.user("cal"), "calc", {"name": "Page", "qty": 4, "supplier": supplier.id, "lines": [
        {"item": "a", "kind": "custom", "qty": 2, "price": "5"}, {"item": "b", "qty": 11}]})
    assert saved.data["c_sum"] == body["texts"]["f-c_sum"] == "54.00"
    del form["csrf_token"]
    assert client.post("/f/calc/preview", data=form).status_code == 400  # CSRF, like every page post
    assert client.post("/f/nope/preview", data={"csrf_token": csrf}).status_code == 404
