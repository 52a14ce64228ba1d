"""Every JSON API endpoint, and every error code it answers with."""
from __future__ import annotations

import io

from .conftest import order_data


def _order(api, catalog, **over):
    r = api("alice").post("/api/forms/sales_order/records", json={"data": order_data(catalog, **over)})
    assert r.status_code == 201, r.json
    return r.json


def test_definitions__lists_readable_forms_and_reports(api):
    r = api("alice").get("/api/definitions")
    assert r.status_code == 200
    forms = {f["id"]: f for f in r.json["forms"]}
    assert forms["sales_order"]["title"] == {"en": "Sales order", "zh": "销售订单"}
    assert forms["sales_order"]["can_create"] is True
    assert [f["name"] for f in forms["sales_order"]["fields"]][:3] == ["customer", "order_date", "due_date"]
    assert "purchase_requisition" not in forms  # alice has no role that reads it
    assert r.json["app"]["languages"] == ["en", "zh"]


def test_create__201_with_record_shape_and_actions(api, catalog):
    rec = _order(api, catalog)
    assert set(rec) >= {"id", "form", "number", "state", "version", "owner", "data", "created_at",
                        "updated_at", "actions"}
    assert rec["state"] == "draft" and rec["owner"] == "alice" and rec["version"] == 1
    assert rec["data"]["total"] == "41.00"  # 2 × 12.50 + 5 × 3.20 (price defaulted from the product)
    assert rec["data"]["lines"][1]["price"] == "3.20"
    assert "submit" in [a["name"] for a in rec["actions"]]


def test_create__422_lists_every_field_error(api, catalog):
    r = api("alice").post("/api/forms/sales_order/records",
                          json={"data": order_data(catalog, due_date="2026-01-01", lines=[], nope=1)})
    assert r.status_code == 422
    err = r.json["error"]
    assert err["code"] == "validation_failed"
    assert set(err["fields"]) == {"due_date", "lines", "nope"}


def test_create__400_without_a_json_object(api):
    r = api("alice").post("/api/forms/sales_order/records", data="not json",
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"
    assert r.json["error"]["fields"] == {}


def test_create__403_without_the_role(api, catalog):
    r = api("walt").post("/api/forms/sales_order/records", json={"data": order_data(catalog)})
    assert r.status_code == 403 and r.json["error"]["code"] == "permission_denied"


def test_unknown_form_and_unknown_route__404(api):
    a = api("alice")
    assert a.get("/api/forms/nope/records").status_code == 404
    r = a.get("/api/nothing/here")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_no_credentials__401(api):
    r = api(None).get("/api/forms/sales_order/records")
    assert r.status_code == 401 and r.json["error"]["code"] == "not_authenticated"
    assert api(None).get("/api/tasks", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_list__items_total_filter_order_paging(api, catalog):
    for due in ("2026-03-10", "2026-03-20", "2026-03-30"):
        _order(api, catalog, due_date=due)
    a = api("alice")
    r = a.get("/api/forms/sales_order/records?order=-due_date&limit=2")
    assert r.status_code == 200 and r.json["total"] == 3
    assert [i["data"]["due_date"] for i in r.json["items"]] == ["2026-03-30", "2026-03-20"]
    r = a.get("/api/forms/sales_order/records?order=due_date&limit=2&offset=2")
    assert [i["data"]["due_date"] for i in r.json["items"]] == ["2026-03-30"]
    r = a.get("/api/forms/sales_order/records", query_string={"filter": "due_date >= '2026-03-20'"})
    assert r.json["total"] == 2


def test_list__bad_parameters_are_400_with_fields(api):
    a = api("alice")
    r = a.get("/api/forms/sales_order/records?limit=abc")
    assert r.status_code == 400 and r.json["error"]["fields"] == {"limit": "must be an integer"}
    assert a.get("/api/forms/sales_order/records?limit=100000").status_code == 400
    r = a.get("/api/forms/sales_order/records", query_string={"filter": "total >"})
    assert r.status_code == 400 and r.json["error"]["code"] == "expression_error"
    r = a.get("/api/forms/sales_order/records?order=nonsense")
    assert r.status_code == 422 and "order" in r.json["error"]["fields"]


def test_get__record_with_actions_and_404_for_missing(api, catalog):
    rec = _order(api, catalog)
    r = api("alice").get(f"/api/forms/sales_order/records/{rec['id']}")
    assert r.status_code == 200 and r.json["number"] == rec["number"]
    assert isinstance(r.json["actions"], list)
    assert api("alice").get("/api/forms/sales_order/records/999999").status_code == 404


def test_patch__updates_and_409_on_stale_version(api, catalog):
    rec = _order(api, catalog)
    a = api("alice")
    url = f"/api/forms/sales_order/records/{rec['id']}"
    r = a.patch(url, json={"data": {"channel": "email"}, "version": 1})
    assert r.status_code == 200 and r.json["version"] == 2 and r.json["data"]["channel"] == "email"
    r = a.patch(url, json={"data": {"channel": "store"}, "version": 1})
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    r = a.patch(url, json={"data": {"channel": "store"}})
    assert r.status_code == 422 and "version" in r.json["error"]["fields"]
    r = a.patch(url, json={"data": {"channel": "carrier pigeon"}, "version": 2})
    assert r.status_code == 422 and "channel" in r.json["error"]["fields"]


def test_patch__403_when_the_step_forbids_editing(api, catalog):
    rec = _order(api, catalog)
    url = f"/api/forms/sales_order/records/{rec['id']}"
    api("alice").post(url + "/actions/submit", json={})
    r = api("sam").patch(url, json={"data": {"channel": "email"}, "version": 2})
    assert r.status_code == 403


def test_actions__submit_approve_and_409_when_not_available(api, catalog):
    rec = _order(api, catalog)
    url = f"/api/forms/sales_order/records/{rec['id']}"
    r = api("alice").post(url + "/actions/submit", json={"version": 1})
    assert r.status_code == 200 and r.json["state"] == "manager_review"
    r = api("alice").post(url + "/actions/approve", json={})
    assert r.status_code in (403, 409)
    sam = api("sam")
    r = sam.post(url + "/actions/approve", json={"version": 1})
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    r = sam.post(url + "/actions/approve", json={"comment": "ok", "version": 2})
    assert r.status_code == 200 and r.json["state"] == "approved"


def test_actions__reject_needs_a_comment_422(api, catalog):
    rec = _order(api, catalog)
    url = f"/api/forms/sales_order/records/{rec['id']}"
    api("alice").post(url + "/actions/submit", json={})
    r = api("sam").post(url + "/actions/reject", json={})
    assert r.status_code == 422 and "comment" in r.json["error"]["fields"]


def test_actions__transfer_to_another_user(api, catalog):
    rec = _order(api, catalog)
    url = f"/api/forms/sales_order/records/{rec['id']}"
    api("alice").post(url + "/actions/submit", json={})
    r = api("sam").post(url + "/actions/transfer", json={"to": "gm", "comment": "on leave"})
    assert r.status_code == 200, r.json
    tasks = api("gm").get("/api/tasks").json["items"]
    assert [t["record_id"] for t in tasks] == [rec["id"]]
    assert api("sam").get("/api/tasks").json["items"] == []


def test_actions__bad_body_types(api, catalog):
    rec = _order(api, catalog)
    url = f"/api/forms/sales_order/records/{rec['id']}/actions/submit"
    assert api("alice").post(url, json={"comment": 5}).status_code == 422
    assert api("alice").post(url, json={"version": "x"}).status_code == 422
    assert api("alice").post(url, json=[1]).status_code == 400


def test_history_and_explain(api, catalog):
    rec = _order(api, catalog)
    base = f"/api/forms/sales_order/records/{rec['id']}"
    api("alice").post(base + "/actions/submit", json={"comment": "please"})
    hist = api("alice").get(base + "/history").json["items"]
    assert [h["action"] for h in hist][:2] == ["create", "submit"]
    assert hist[1]["comment"] == "please"
    r = api("sam").get(base + "/explain")
    assert r.status_code == 200 and r.json["state"] == "manager_review"
    assert any(a["action"] == "approve" for a in r.json["actions"])


def test_tasks__my_open_tasks_and_bad_status(api, catalog):
    rec = _order(api, catalog)
    api("alice").post(f"/api/forms/sales_order/records/{rec['id']}/actions/submit", json={})
    items = api("sam").get("/api/tasks?status=open").json["items"]
    assert [(t["record_id"], t["step"]) for t in items] == [(rec["id"], "manager_review")]
    assert api("sam").get("/api/tasks?status=bogus").status_code == 400


def test_notifications__list_and_mark_read(api, catalog):
    rec = _order(api, catalog)
    url = f"/api/forms/sales_order/records/{rec['id']}"
    api("alice").post(url + "/actions/submit", json={})
    api("sam").post(url + "/actions/approve", json={})
    r = api("alice").get("/api/notifications")
    assert r.status_code == 200 and r.json["unread"] >= 1
    assert any("approved" in n["subject"] for n in r.json["items"])
    r = api("alice").post("/api/notifications/read", json={})
    assert r.json["unread"] == 0
    assert api("alice").post("/api/notifications/read", json={"ids": ["x"]}).status_code == 422


def test_reports__json_csv_xlsx_and_errors(api, catalog):
    rec = _order(api, catalog)
    url = f"/api/forms/sales_order/records/{rec['id']}"
    api("alice").post(url + "/actions/submit", json={})
    api("sam").post(url + "/actions/approve", json={})
    gm = api("sam")  # a sales manager reads every order (the form's rows rule)
    r = gm.get("/api/reports/sales_by_month?since=2026-01-01")
    assert r.status_code == 200
    assert [c["name"] for c in r.json["columns"]] == ["month", "region", "orders", "revenue"]
    assert r.json["rows"] == [["2026-03-01", "north", 1, "41.00"]]
    r = gm.get("/api/reports/sales_by_month?format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "41.00" in r.data.decode("utf-8-sig")
    r = gm.get("/api/reports/sales_by_month?format=xlsx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert gm.get("/api/reports/sales_by_month?format=pdf").status_code == 400
    assert gm.get("/api/reports/sales_by_month?since=notadate").status_code == 400
    assert gm.get("/api/reports/nope").status_code == 404
    assert api("alice").get("/api/reports/sales_dashboard").status_code == 403


def test_import__dry_run_then_all_rows(api, engine):
    csv_text = "name,region\nNorthwind,north\nSouthco,south\n"
    a = api("alice")
    r = a.post("/api/forms/customer/import?dry_run=1",
               data={"file": (io.BytesIO(csv_text.encode()), "c.csv")}, content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["rows"] == 2 and r.json["created"] == []
    r = a.post("/api/forms/customer/import",
               data={"file": (io.BytesIO(csv_text.encode()), "c.csv")}, content_type="multipart/form-data")
    assert r.status_code == 201 and len(r.json["created"]) == 2
    bad = "name,region\n,north\nX,mars\n"
    r = a.post("/api/forms/customer/import", data={"file": (io.BytesIO(bad.encode()), "c.csv")},
               content_type="multipart/form-data")
    assert r.status_code == 422 and len(r.json["error"]["fields"]) == 2
    assert a.post("/api/forms/customer/import", data=b"").status_code == 400


def test_openapi__31_with_a_schema_per_form(api):
    r = api("alice").get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json
    assert doc["openapi"] == "3.1.0"
    assert "/api/forms/sales_order/records/{id}/actions/{name}" in doc["paths"]
    data = doc["components"]["schemas"]["sales_order.data"]["properties"]
    assert data["channel"]["enum"] == ["phone", "email", "online", "store", None]
    assert data["lines"]["items"]["properties"]["qty"]["minimum"] == 1
    assert "/api/reports/sales_by_month" in doc["paths"]


def test_errors__always_have_code_message_fields(api):
    for r in (api(None).get("/api/tasks"), api("alice").get("/api/forms/nope/records"),
              api("alice").delete("/api/definitions")):
        assert set(r.json["error"]) == {"code", "message", "fields"}
    assert api("alice").delete("/api/definitions").status_code == 405
