"""Who may see and change which field, and when, over the JSON API of the bundled ERP app.

Customers' credit terms are finance's to change; product cost is for purchasing,
production, finance and admin to see; an approved order is read-only (it
changes through request_change / request_cancel); finance may note the terms
while deciding in finance_review (`edit: {finance: [notes]}`).
"""
from __future__ import annotations

import csv
import io

import pytest

from tests.scenarios.test_order_to_cash import USERS, World, erp  # noqa: F401  (fixture)
from tests.api.conftest import logged_in
from web import create_app

pytestmark = pytest.mark.outbox_ok  # the app's alerts email users who have no address


@pytest.fixture
def world(erp):  # noqa: F811
    return World(erp)


@pytest.fixture
def api(erp):  # noqa: F811
    app = create_app(erp, secret_key="test-secret")
    app.config["TESTING"] = True

    def client(name):
        token = erp.create_token(name)
        c = app.test_client()

        class Api:
            def __getattr__(self, method):
                def call(path, json=None, **kw):
                    return getattr(c, method)(path, json=json,
                                              headers={"Authorization": f"Bearer {token}"}, **kw)
                return call
        return Api()
    return client


def customer_url(world):
    return f"/api/forms/customer/records/{world.customer.id}"


def test_a_field_one_may_not_edit_is_a_403_naming_it(world, api):
    r = api("alice").patch(customer_url(world), json={"data": {"credit_limit": "99999999.00"},
                                                     "version": world.customer.version})
    assert r.status_code == 403, r.json
    err = r.json["error"]
    assert err["reason"] == "field_not_editable" and list(err["fields"]) == ["credit_limit"]
    assert "Credit limit" in err["message"]
    assert world.get("customer", world.customer.id).data["credit_limit"] == 100000


def test_several_fields_one_may_not_edit_are_a_422_listing_each(world, api):
    r = api("alice").patch(customer_url(world), json={
        "data": {"credit_limit": "1", "payment_days": 90, "industry": "retail"},
        "version": world.customer.version})
    assert r.status_code == 422
    assert r.json["error"]["reason"] == "fields_not_editable"
    assert set(r.json["error"]["fields"]) == {"credit_limit", "payment_days"}


def test_finance_changes_the_credit_terms_and_sales_may_send_them_back_unchanged(world, api):
    r = api("fiona").patch(customer_url(world), json={"data": {"credit_limit": "150000"},
                                                     "version": world.customer.version})
    assert r.status_code == 200 and r.json["data"]["credit_limit"] == "150000.00"
    # the whole record read and sent back by sales: unchanged credit terms are no write of them
    rec = api("alice").get(customer_url(world)).json
    data = {**rec["data"], "industry": "retail"}
    data = {k: v for k, v in data.items() if k not in ("balance", "credit_available", "over_credit")}
    r = api("alice").patch(customer_url(world), json={"data": data, "version": rec["version"]})
    assert r.status_code == 200, r.json
    assert r.json["data"]["industry"] == "retail" and r.json["data"]["credit_limit"] == "150000.00"


def test_writing_a_readonly_field_is_a_422_naming_it(world, api):
    r = api("fiona").patch(customer_url(world), json={"data": {"balance": "5.00"},
                                                     "version": world.customer.version})
    assert r.status_code == 422
    assert r.json["error"]["reason"] == "readonly_field" and list(r.json["error"]["fields"]) == ["balance"]


def test_a_write_that_changes_nothing_returns_the_record_unchanged(world, api):
    before = api("alice").get(customer_url(world)).json
    history = api("alice").get(customer_url(world) + "/history").json["items"]
    r = api("alice").patch(customer_url(world), json={"data": {"region": "east"},
                                                      "version": before["version"]})
    assert r.status_code == 200 and r.json["version"] == before["version"]
    assert r.json["updated_at"] == before["updated_at"]
    assert api("alice").get(customer_url(world) + "/history").json["items"] == history


def test_product_cost_is_absent_for_those_who_may_not_see_it(world, api):
    url = f"/api/forms/product/records/{world.chair.id}"
    assert "cost" not in api("alice").get(url).json["data"]
    assert api("pat").get(url).json["data"]["cost"] == "400.00"
    assert all("cost" not in i["data"] for i in api("alice").get("/api/forms/product/records").json["items"])
    history = api("alice").get(url + "/history").json["items"]
    assert history and all("cost" not in e["diff"] for e in history)
    assert any("cost" in e["diff"] for e in api("pat").get(url + "/history").json["items"])
    # the form export has no such column for them (and the purchaser's has)
    assert "Unit cost" not in export_header(world, "alice")
    assert "Unit cost" in export_header(world, "pat")


def export_header(world, name) -> list[str]:
    out = io.BytesIO()
    world.erp.export(world.u[name], "product", "csv", out)
    return next(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))


@pytest.mark.parametrize("query", ["filter=cost%20%3E%201", "order=-cost",
                                   "filter=product.cost%20%3E%201"])
def test_filtering_or_sorting_on_a_field_one_may_not_see_is_refused(world, api, query):
    form = "stock" if query.startswith("filter=product") else "product"
    r = api("alice").get(f"/api/forms/{form}/records?{query}")
    assert r.status_code == 403
    assert r.json["error"]["reason"] == "field_not_readable"
    assert "Unit cost" in r.json["error"]["message"]
    assert api("pat").get(f"/api/forms/{form}/records?{query}").status_code == 200


def test_a_report_on_a_field_one_may_not_see_is_refused_with_a_clear_message(world, api):
    r = api("walt").get("/api/reports/inventory_levels")
    assert r.status_code == 403
    assert r.json["error"]["message"] == ("you may not see the field Unit cost of Product, so the "
                                          "report Inventory levels cannot use 'product.cost'")
    assert api("fiona").get("/api/reports/inventory_levels").status_code == 200


def test_openapi_leaves_out_fields_the_caller_may_not_see(world, api, erp):  # noqa: F811
    props = api("alice").get("/api/openapi.json").json["components"]["schemas"]["product.data"]["properties"]
    assert "cost" not in props and "price" in props
    props = api("pat").get("/api/openapi.json").json["components"]["schemas"]["product.data"]["properties"]
    assert props["cost"]["x-loom-read"] == ["purchasing", "production", "finance", "admin"]


def approved_order(world):
    order = world.order([{"product": world.chair.id, "qty": 3}])
    world.erp.act(world.u["alice"], "sales_order", order.id, "submit")
    return world.approve_all(order)


def test_an_approved_order_is_read_only_except_through_its_actions(world, api):
    order = approved_order(world)
    assert order.state == "approved"
    url = f"/api/forms/sales_order/records/{order.id}"
    r = api("sam").patch(url, json={"data": {"lines": [{"product": world.chair.id, "qty": 30}]},
                                   "version": order.version})
    assert r.status_code == 403 and r.json["error"]["reason"] == "step_locked"
    r = api("alice").post(url + "/actions/request_change", json={"comment": "30, not 3"})
    assert r.status_code == 200 and r.json["state"] == "change_review"


def test_not_an_approver_is_403_and_a_stale_version_409_each_with_a_reason(world, api):
    order = world.order([{"product": world.chair.id, "qty": 1}])
    world.erp.act(world.u["alice"], "sales_order", order.id, "submit")
    url = f"/api/forms/sales_order/records/{order.id}/actions/approve"
    r = api("fiona").post(url, json={})
    assert r.status_code == 403 and r.json["error"]["reason"] == "not_assignee"
    r = api("sam").post(url, json={"version": 1})
    assert r.status_code == 409 and r.json["error"]["reason"] == "stale_version"


def test_an_approver_fills_the_fields_the_step_grants_while_deciding(world, api):
    erp, u = world.erp, world.u
    erp.update(u["fiona"], "customer", world.customer.id, {"credit_limit": "100"},
               world.get("customer", world.customer.id).version)
    order = world.order([{"product": world.chair.id, "qty": 1}])
    erp.act(u["alice"], "sales_order", order.id, "submit")
    erp.act(u["sam"], "sales_order", order.id, "approve")
    assert world.get("sales_order", order.id).state == "finance_review"
    url = f"/api/forms/sales_order/records/{order.id}"
    # a field the step does not grant: 403 naming it, nothing decided
    r = api("fiona").post(url + "/actions/approve", json={"data": {"channel": "email"}})
    assert r.status_code == 403 and list(r.json["error"]["fields"]) == ["channel"]
    assert world.get("sales_order", order.id).state == "finance_review"
    # PATCH outside the action is refused too, for what the step does not grant
    r = api("fiona").patch(url, json={"data": {"channel": "email"}, "version": r and
                                      world.get("sales_order", order.id).version})
    assert r.status_code == 403 and r.json["error"]["reason"] == "field_not_editable"
    r = api("fiona").post(url + "/actions/approve", json={"data": {"notes": "prepay 30%"}})
    assert r.status_code == 200, r.json
    assert r.json["state"] == "approved" and r.json["data"]["notes"] == "prepay 30%"
    decided = [e for e in api("fiona").get(url + "/history").json["items"] if e["action"] == "approve"]
    assert decided[-1]["diff"]["notes"] == [None, "prepay 30%"]


def page_client(erp, name):  # noqa: F811
    app = create_app(erp, secret_key="test-secret")
    app.config["TESTING"] = True
    return logged_in(app, name)


def test_the_admin_page_shows_the_access_matrix_a_table_per_form(world):
    c = page_client(world.erp, "root")
    html = c.get("/admin/access?form=customer").get_data(as_text=True)
    assert 'id="access-customer"' in html and 'id="access-product"' not in html
    row = html.split('id="access-customer-sales"', 1)[1].split("</tr>", 1)[0]
    assert "credit_limit, payment_days" in row  # read-only for sales
    assert page_client(world.erp, "alice").get("/admin/access").status_code == 404  # as /admin


def test_the_approver_panel_has_inputs_for_the_fields_the_step_grants(world):
    erp, u = world.erp, world.u
    erp.update(u["fiona"], "customer", world.customer.id, {"credit_limit": "100"},
               world.get("customer", world.customer.id).version)
    order = world.order([{"product": world.chair.id, "qty": 1}])
    erp.act(u["alice"], "sales_order", order.id, "submit")
    erp.act(u["sam"], "sales_order", order.id, "approve")
    c = page_client(erp, "fiona")
    html = c.get(f"/f/sales_order/{order.id}").get_data(as_text=True)
    assert 'id="fill-notes"' in html and 'id="fill-channel"' not in html
    r = c.post(f"/f/sales_order/{order.id}/act", data={
        "csrf_token": c.token, "action": "approve", "f.notes": "prepay 30%"})
    assert r.status_code == 302, r.get_data(as_text=True)
    rec = world.get("sales_order", order.id)
    assert rec.state == "approved" and rec.data["notes"] == "prepay 30%"


def test_an_import_may_not_set_a_field_the_importer_may_not_change(world):
    erp, u = world.erp, world.u
    rows = "Name,Region,Credit limit\nNorth Co,north,5000\nSouth Co,south,0\n"
    result = erp.import_file(u["alice"], "customer", io.BytesIO(rows.encode()), filename="c.csv")
    assert result.created == []  # all rows or none
    # row 3's 0 is the default: no change, no refusal
    assert [(e.row, e.message) for e in result.errors] == [
        (2, "you may not change Credit limit (credit_limit)")]
    result = erp.import_file(u["root"], "customer", io.BytesIO(rows.encode()), filename="c.csv")
    assert result.errors == [] and len(result.created) == 2
