"""The bundled ERP app end to end, through the Engine facade only.

Order entered → credit and stock checks → two-level approval → stock
reserved → low stock raises a requisition → purchase order → receipt →
delivery note → invoice → payment → report totals match; then a return, an
order that needs finance, and a cancelled order releasing its reservation.
Every step reads the records back from the database.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import ActionRefused, LoomError, PermissionDenied, ValidationFailed
from tests.conftest import make_engine

APP = Path(__file__).resolve().parents[2] / "definitions"
# The app's alerts email their recipients, and these users have no address:
# the undeliverable outbox rows that leaves are expected (tests/conftest.py).
pytestmark = pytest.mark.outbox_ok

USERS = {
    "gm": (["general_manager"], None),
    "sam": (["sales_manager"], "gm"),
    "alice": (["sales"], "sam"),
    "fiona": (["finance"], "gm"),
    "walt": (["warehouse"], "gm"),
    "pat": (["purchasing"], "gm"),
    "root": (["admin"], None),
}


@pytest.fixture
def erp(database_url, clock):
    eng = make_engine(APP, database_url, clock)
    for name, (roles, manager) in USERS.items():
        eng.add_user(name, roles, manager=manager, password=f"{name}-pass-123",
                     is_admin=name == "root")
    yield eng
    eng.close()


class World:
    """Master data: one warehouse, one supplier, two products with opening stock."""

    def __init__(self, erp):
        self.erp = erp
        self.u = {n: erp.user(n) for n in USERS}
        root = self.u["root"]
        self.wh = erp.create(root, "warehouse", {"code": "SH", "name": "Shanghai DC"})
        self.supplier = erp.create(self.u["pat"], "supplier", {"name": "Hangzhou Timber Co."})
        self.chair = erp.create(self.u["pat"], "product", {
            "sku": "CH-100", "name": "Oak chair", "price": "1000", "min_price": "800",
            "cost": "400", "supplier": self.supplier.id, "lead_days": 5})
        self.lamp = erp.create(self.u["pat"], "product", {
            "sku": "LP-200", "name": "Floor lamp", "price": "500", "min_price": "400",
            "cost": "200", "supplier": self.supplier.id})
        self.chair_sh = erp.create(self.u["walt"], "stock", {
            "product": self.chair.id, "warehouse": self.wh.id, "safety_stock": 20,
            "reorder_qty": 100})
        self.lamp_sh = erp.create(self.u["walt"], "stock", {
            "product": self.lamp.id, "warehouse": self.wh.id, "safety_stock": 5})
        count = erp.create(self.u["walt"], "stock_count", {"warehouse": self.wh.id, "lines": [
            {"item": self.chair_sh.id, "counted_qty": 100},
            {"item": self.lamp_sh.id, "counted_qty": 40}]})
        erp.act(self.u["walt"], "stock_count", count.id, "submit")
        assert erp.get(root, "stock", self.chair_sh.id).data["on_hand"] == 0  # not before approval
        erp.act(self.u["fiona"], "stock_count", count.id, "approve")
        # New stock items start empty, so the low-stock alert asked for both; the
        # opening count filled them, and purchasing turns those requests down.
        opening = erp.list(self.u["pat"], "purchase_requisition").items
        assert sorted(r.data["item"] for r in opening) == sorted([self.chair_sh.id, self.lamp_sh.id])
        for r in opening:
            erp.act(self.u["pat"], "purchase_requisition", r.id, "reject",
                    comment="opening stock counted")
        self.customer = erp.create(self.u["alice"], "customer", {
            "name": "Bright Interiors", "region": "east"})
        # credit terms are finance's to set
        self.customer = erp.update(self.u["fiona"], "customer", self.customer.id, {
            "credit_limit": "100000", "payment_days": 30}, self.customer.version)

    def stock(self, item):
        return self.erp.get(self.u["root"], "stock", item.id).data

    def get(self, form, rid):
        return self.erp.get(self.u["root"], form, rid)

    def order(self, lines, due="2026-03-20", **extra):
        return self.erp.create(self.u["alice"], "sales_order", {
            "customer": self.customer.id, "due_date": due, "warehouse": self.wh.id,
            "lines": lines, **extra})

    def approve_all(self, rec, form="sales_order"):
        """Whoever holds an open task on the record approves, until none is left."""
        for _ in range(5):
            rec = self.get(form, rec.id)
            holders = [n for n in USERS if any(
                t.record_id == rec.id for t in self.erp.tasks(self.u[n]))]
            if not holders:
                return rec
            self.erp.act(self.u[holders[0]], form, rec.id, "approve")
        raise AssertionError("approval never ended")


@pytest.fixture
def world(erp):
    return World(erp)


def test_loom_check_is_clean():
    from engine.definitions.catalog import check_tree
    from engine.bootstrap import default_registries

    _, problems = check_tree(str(APP), default_registries())
    assert [str(p) for p in problems] == []


def test_order_to_cash(world):
    erp, u = world.erp, world.u

    # --- checks on save: price --------------------------------------------------------
    with pytest.raises(ValidationFailed) as exc:
        world.order([{"product": world.chair.id, "qty": 1, "price": "500"}])
    assert "lines[0].price" in exc.value.fields

    # --- order entered: 85 chairs at list price = 85,000 (within credit) ---------------
    order = world.order([{"product": world.chair.id, "qty": 85},
                         {"product": world.lamp.id, "qty": 10, "price": "450"}])
    assert order.number.startswith("SO-")
    assert order.data["total"] == Decimal("89500.00")
    assert order.state == "draft"
    order = erp.act(u["alice"], "sales_order", order.id, "submit")
    assert order.state == "manager_review"
    assert order.data["over_credit"] is False
    # the rep cannot approve her own order; the manager can
    with pytest.raises(LoomError):
        erp.act(u["alice"], "sales_order", order.id, "approve")
    order = erp.act(u["sam"], "sales_order", order.id, "approve")
    assert world.get("sales_order", order.id).state == "gm_review"  # 50,000 and up
    assert world.stock(world.chair_sh)["reserved"] == 85  # reserved when submitted
    erp.act(u["gm"], "sales_order", order.id, "approve")
    order = world.get("sales_order", order.id)
    assert order.state == "approved" and order.data["reserved"] is True

    # --- stock reserved; low stock raised a requisition ------------------------------
    chair = world.stock(world.chair_sh)
    assert (chair["on_hand"], chair["reserved"], chair["available"]) == (100, 85, 15)
    assert world.stock(world.lamp_sh)["reserved"] == 10
    reqs = erp.list(u["pat"], "purchase_requisition", filter="state == 'requested'").items
    assert len(reqs) == 1
    req = reqs[0]
    assert req.data["item"] == world.chair_sh.id
    assert req.data["qty"] == 100 + 20 - 15
    assert req.data["supplier"] == world.supplier.id
    assert any("CH-100@SH" in n["subject"] for n in erp.notifications(u["pat"]))

    # --- requisition approved → purchase order (a line per requisition) → receipt -----
    erp.act(u["pat"], "purchase_requisition", req.id, "approve")
    assert world.get("purchase_requisition", req.id).state == "gm_review"  # 42,000: over 20,000
    erp.act(u["gm"], "purchase_requisition", req.id, "approve")
    with pytest.raises(ActionRefused):  # not on a purchase order yet
        erp.act(u["pat"], "purchase_requisition", req.id, "order")
    po = erp.create(u["pat"], "purchase_order", {
        "supplier": world.supplier.id, "requisition": req.id, "warehouse": world.wh.id,
        "expected_date": "2026-03-07", "lines": [
            {"product": world.chair.id, "requisition": req.id, "qty": 105, "unit_price": "400"},
            {"product": world.lamp.id, "qty": 20}]})  # the lamp at its cost, 200
    assert (po.data["amount"], po.data["ordered_qty"]) == (Decimal("46000.00"), 125)
    po = erp.act(u["pat"], "purchase_order", po.id, "send")
    assert po.state == "gm_review"  # 20,000 and up
    po = erp.act(u["gm"], "purchase_order", po.id, "approve")
    assert po.state == "sent"
    assert (world.stock(world.chair_sh)["on_order"], world.stock(world.lamp_sh)["on_order"]) == (105, 20)
    erp.act(u["pat"], "purchase_requisition", req.id, "order")
    assert world.get("purchase_requisition", req.id).state == "ordered"
    chair_po_line, lamp_po_line = (ln["_id"] for ln in po.data["lines"])
    with pytest.raises(ValidationFailed):  # more than was ordered on the line
        erp.create(u["walt"], "goods_receipt", {"lines": [{"po_line": lamp_po_line, "qty": 21}]},
                   source=f"purchase_order:{po.id}")
    receipt = erp.create(u["walt"], "goods_receipt", {}, source=f"purchase_order:{po.id}")
    assert [(ln["product"], ln["qty"]) for ln in receipt.data["lines"]] == [
        (world.chair.id, 105), (world.lamp.id, 20)]
    erp.act(u["walt"], "goods_receipt", receipt.id, "post")
    chair = world.stock(world.chair_sh)
    assert (chair["on_hand"], chair["reserved"], chair["available"], chair["on_order"]) == (
        205, 85, 120, 0)
    po = world.get("purchase_order", po.id)
    assert po.data["received_qty"] == 125 and po.data["open_qty"] == 0
    erp.act(u["walt"], "purchase_order", po.id, "close")
    supplier = world.get("supplier", world.supplier.id).data
    assert (supplier["receipts"], supplier["receipts_on_time"]) == (1, 1)
    assert supplier["on_time_rate"] == Decimal("1")

    # --- delivery note: a partial shipment, then the rest ----------------------------
    chair_line, lamp_line = (ln["_id"] for ln in world.get("sales_order", order.id).data["lines"])
    dn1 = erp.create(u["walt"], "delivery_note", {"lines": [{"order_line": chair_line, "qty": 50}]},
                     source=f"sales_order:{order.id}")
    with pytest.raises(ActionRefused):  # no carrier and tracking number yet
        erp.act(u["walt"], "delivery_note", dn1.id, "ship")
    erp.update(u["walt"], "delivery_note", dn1.id,
               {"carrier": "sf", "tracking_number": "SF100200300"}, version=dn1.version)
    erp.act(u["walt"], "delivery_note", dn1.id, "ship")
    assert world.get("sales_order", order.id).data["shipped_value"] == Decimal("50000.00")
    with pytest.raises(ActionRefused):  # not fully shipped
        erp.act(u["walt"], "sales_order", order.id, "complete")
    dn2 = erp.create(u["walt"], "delivery_note", {"carrier": "jd", "tracking_number": "JD7788"},
                     source=f"sales_order:{order.id}")  # what is left: 35 chairs, 10 lamps
    assert [(ln["product"], ln["qty"], ln["price"]) for ln in dn2.data["lines"]] == [
        (world.chair.id, 35, Decimal("1000.00")), (world.lamp.id, 10, Decimal("450.00"))]
    erp.act(u["walt"], "delivery_note", dn2.id, "ship")
    for dn in (dn1, dn2):
        erp.act(u["walt"], "delivery_note", dn.id, "deliver")
    chair = world.stock(world.chair_sh)
    assert (chair["on_hand"], chair["reserved"], chair["shipped"]) == (120, 0, 85)
    lamp = world.stock(world.lamp_sh)
    assert (lamp["on_hand"], lamp["reserved"]) == (50, 0)
    erp.act(u["walt"], "sales_order", order.id, "complete")
    assert world.get("sales_order", order.id).state == "completed"
    assert world.get("delivery_note", dn1.id).data["on_time"] is True

    # --- invoices from shipments; the customer owes the order total ------------------
    invoices = erp.list(u["fiona"], "invoice", order="id").items
    assert [i.data["amount"] for i in invoices] == [Decimal("50000.00"), Decimal("39500.00")]
    assert [(ln["product"], ln["qty"], ln["amount"]) for ln in invoices[1].data["lines"]] == [
        (world.chair.id, 35, Decimal("35000.00")), (world.lamp.id, 10, Decimal("4500.00"))]
    assert all(i.data["due_date"].isoformat() == "2026-04-01" for i in invoices)
    assert world.get("customer", world.customer.id).data["balance"] == Decimal("89500.00")

    ageing = erp.report(u["fiona"], "receivables_ageing", {}).dicts()
    assert sum(Decimal(str(r["outstanding"])) for r in ageing) == Decimal("89500.00")

    # --- payments: one in full, one in part -----------------------------------------
    pay1 = erp.create(u["fiona"], "payment", {"invoice": invoices[0].id, "amount": "50000"})
    erp.act(u["fiona"], "payment", pay1.id, "post")
    with pytest.raises(ValidationFailed):  # more than is outstanding
        erp.create(u["fiona"], "payment", {"invoice": invoices[1].id, "amount": "40000"})
    pay2 = erp.create(u["fiona"], "payment", {"invoice": invoices[1].id, "amount": "30000"})
    erp.act(u["fiona"], "payment", pay2.id, "post")
    erp.act(u["fiona"], "invoice", invoices[0].id, "settle")
    with pytest.raises(ActionRefused):
        erp.act(u["fiona"], "invoice", invoices[1].id, "settle")
    assert world.get("invoice", invoices[0].id).state == "paid"
    assert world.get("invoice", invoices[1].id).data["outstanding"] == Decimal("9500.00")
    assert world.get("customer", world.customer.id).data["balance"] == Decimal("9500.00")

    # --- report totals match ---------------------------------------------------------
    params = {"since": "2026-01-01"}
    by_customer = erp.report(u["sam"], "sales_by_customer", params).dicts()
    assert [(r["customer"], Decimal(str(r["revenue"])), r["orders"]) for r in by_customer] == [
        ("Bright Interiors", Decimal("89500.00"), 1)]
    by_product = {r["sku"]: r for r in erp.report(u["sam"], "sales_by_product", params).dicts()}
    assert (by_product["CH-100"]["units"], Decimal(str(by_product["CH-100"]["revenue"]))) == (
        85, Decimal("85000.00"))
    ageing = erp.report(u["fiona"], "receivables_ageing", {}).dicts()
    assert sum(Decimal(str(r["outstanding"])) for r in ageing) == Decimal("9500.00")
    spend = erp.report(u["gm"], "purchase_spend", params).dicts()
    assert [(r["supplier"], Decimal(str(r["spend"]))) for r in spend] == [
        ("Hangzhou Timber Co.", Decimal("46000.00"))]
    on_time = erp.report(u["gm"], "on_time_delivery", params).dicts()
    assert sum(r["deliveries"] for r in on_time) == 2 and sum(r["on_time"] for r in on_time) == 2
    # the stock value needs product cost, which finance may see and the general manager not
    with pytest.raises(PermissionDenied, match="Unit cost of Product"):
        erp.report(u["gm"], "inventory_levels", {})
    levels = {r["item"]: r for r in erp.report(u["fiona"], "inventory_levels", {}).dicts()}
    assert levels["CH-100@SH"]["on_hand"] == 120 and levels["LP-200@SH"]["available"] == 50
    dashboard = erp.report(u["gm"], "dashboard", params)
    assert dashboard is not None

    # --- the return path: 5 chairs come back, the customer is credited ---------------
    dn1_line = world.get("delivery_note", dn1.id).data["lines"][0]["_id"]
    rma = erp.create(u["alice"], "return_request", {
        "reason": "damaged", "lines": [{"delivery_line": dn1_line, "qty": 5}]},
        source=f"delivery_note:{dn1.id}")
    assert rma.data["sales_order"] == order.id
    erp.act(u["alice"], "return_request", rma.id, "submit")
    erp.act(u["sam"], "return_request", rma.id, "approve")
    assert world.stock(world.chair_sh)["on_hand"] == 120  # not before the goods arrive
    erp.act(u["walt"], "return_request", rma.id, "receive")
    assert world.stock(world.chair_sh)["on_hand"] == 125
    (credit,) = erp.list(u["fiona"], "credit_note").items
    assert credit.data["amount"] == Decimal("5000.00")
    assert credit.data["customer"] == world.customer.id
    assert world.get("customer", world.customer.id).data["balance"] == Decimal("4500.00")


def test_cancelled_order_releases_its_reservation(world):
    erp, u = world.erp, world.u
    order = world.order([{"product": world.lamp.id, "qty": 12}])
    erp.act(u["alice"], "sales_order", order.id, "submit")
    erp.act(u["sam"], "sales_order", order.id, "approve")  # 6,000: the manager alone
    assert world.get("sales_order", order.id).state == "approved"
    assert world.stock(world.lamp_sh)["reserved"] == 12
    with pytest.raises(ValidationFailed):  # once approved, cancelling needs a reason
        erp.act(u["alice"], "sales_order", order.id, "request_cancel")
    erp.act(u["alice"], "sales_order", order.id, "request_cancel", comment="customer changed plans")
    assert world.stock(world.lamp_sh)["reserved"] == 12  # still held while under review
    erp.act(u["sam"], "sales_order", order.id, "approve")
    order = world.get("sales_order", order.id)
    assert order.state == "cancelled" and order.data["reserved"] is False
    lamp = world.stock(world.lamp_sh)
    assert (lamp["on_hand"], lamp["reserved"], lamp["available"]) == (40, 0, 40)


def test_change_after_approval_re_reserves(world):
    erp, u = world.erp, world.u
    order = world.order([{"product": world.lamp.id, "qty": 4}])
    erp.act(u["alice"], "sales_order", order.id, "submit")
    erp.act(u["sam"], "sales_order", order.id, "approve")
    erp.act(u["alice"], "sales_order", order.id, "request_change", comment="6 more")
    erp.act(u["sam"], "sales_order", order.id, "approve")
    order = world.get("sales_order", order.id)
    assert order.state == "amending" and world.stock(world.lamp_sh)["reserved"] == 0
    order = erp.update(u["alice"], "sales_order", order.id,
                       {"lines": [{"product": world.lamp.id, "qty": 10}]}, version=order.version)
    erp.act(u["alice"], "sales_order", order.id, "submit")
    erp.act(u["sam"], "sales_order", order.id, "approve")
    assert world.stock(world.lamp_sh)["reserved"] == 10


def test_order_over_credit_limit_needs_finance(world):
    erp, u = world.erp, world.u
    small = erp.create(u["alice"], "customer", {"name": "Corner Shop", "region": "north"})
    small = erp.update(u["fiona"], "customer", small.id, {"credit_limit": "1000"}, small.version)
    order = erp.create(u["alice"], "sales_order", {
        "customer": small.id, "due_date": "2026-03-10", "warehouse": world.wh.id,
        "lines": [{"product": world.lamp.id, "qty": 3}]})
    order = erp.act(u["alice"], "sales_order", order.id, "submit")
    assert order.data["over_credit"] is True
    erp.act(u["sam"], "sales_order", order.id, "approve")
    assert world.get("sales_order", order.id).state == "finance_review"
    assert world.stock(world.lamp_sh)["reserved"] == 3  # held from submission on
    erp.act(u["fiona"], "sales_order", order.id, "approve")
    assert world.get("sales_order", order.id).state == "approved"
    assert world.stock(world.lamp_sh)["reserved"] == 3


def test_submission_refuses_to_reserve_more_than_is_available(world):
    erp, u = world.erp, world.u
    order = world.order([{"product": world.lamp.id, "qty": 41}])  # 40 on the shelf
    with pytest.raises(ValidationFailed) as exc:
        erp.act(u["alice"], "sales_order", order.id, "submit")
    assert exc.value.message == "Stock LP-200@SH: Not enough stock available to reserve"
    assert world.get("sales_order", order.id).state == "draft"
    assert world.stock(world.lamp_sh)["reserved"] == 0


def test_rejected_or_returned_order_gives_its_reservation_back(world):
    erp, u = world.erp, world.u
    order = world.order([{"product": world.lamp.id, "qty": 5}])
    erp.act(u["alice"], "sales_order", order.id, "submit")
    assert world.stock(world.lamp_sh)["reserved"] == 5
    erp.act(u["sam"], "sales_order", order.id, "return", comment="check the date")
    assert world.stock(world.lamp_sh)["reserved"] == 0
    erp.act(u["alice"], "sales_order", order.id, "submit")
    assert world.stock(world.lamp_sh)["reserved"] == 5
    erp.act(u["sam"], "sales_order", order.id, "reject", comment="duplicate")
    assert world.stock(world.lamp_sh)["reserved"] == 0
    assert world.get("sales_order", order.id).data["reserved"] is False


def test_rejected_change_request_does_not_reserve_or_raise_work_orders_again(world):
    erp, u = world.erp, world.u
    sofa = erp.create(u["pat"], "product", {"sku": "SF-900", "name": "Custom sofa",
                                            "price": "8000", "made_to_order": True})
    order = world.order([{"product": sofa.id, "size": "L", "material": "linen",
                          "colour": "sage", "qty": 1}, {"product": world.lamp.id, "qty": 3}])
    erp.act(u["alice"], "sales_order", order.id, "submit")
    erp.act(u["sam"], "sales_order", order.id, "approve")
    for _ in range(2):
        erp.act(u["alice"], "sales_order", order.id, "request_change", comment="more lamps?")
        erp.act(u["sam"], "sales_order", order.id, "reject", comment="no")
        assert world.get("sales_order", order.id).state == "approved"
    assert world.stock(world.lamp_sh)["reserved"] == 3
    assert erp.list(u["root"], "work_order").total == 1


def test_order_from_a_warehouse_without_the_product_is_refused_whole(world):
    erp, u = world.erp, world.u
    gz = erp.create(u["root"], "warehouse", {"code": "GZ", "name": "Guangzhou DC"})
    order = world.order([{"product": world.chair.id, "qty": 1}], warehouse=gz.id)
    with pytest.raises(ValidationFailed) as exc:  # an empty stock row is made, then refused
        erp.act(u["alice"], "sales_order", order.id, "submit")
    assert exc.value.message == "Stock CH-100@GZ: Not enough stock available to reserve"
    assert world.get("sales_order", order.id).state == "draft"


def test_made_to_order_line_becomes_a_work_order(world):
    erp, u = world.erp, world.u
    sofa = erp.create(u["pat"], "product", {"sku": "SF-900", "name": "Custom sofa",
                                            "price": "8000", "made_to_order": True})
    linen = erp.create(u["pat"], "product", {"sku": "M-LIN", "name": "Linen", "price": "40"})
    bom = erp.create(u["root"], "bom", {"product": sofa.id, "components": [
        {"material": linen.id, "qty_per_unit": "6.5"},
        {"material": world.lamp.id, "qty_per_unit": "1"}]})
    sofa = erp.update(u["root"], "product", sofa.id, {"bom": bom.id}, version=sofa.version)
    with pytest.raises(ValidationFailed) as exc:  # made to order: size, material, colour
        world.order([{"product": sofa.id, "qty": 1}])
    assert set(exc.value.fields) == {"lines[0].size", "lines[0].material", "lines[0].colour"}
    order = world.order([{"product": sofa.id, "size": "220x95", "material": "linen",
                          "colour": "sage", "qty": 2},
                         {"product": world.lamp.id, "qty": 3}])
    erp.act(u["alice"], "sales_order", order.id, "submit")
    erp.act(u["sam"], "sales_order", order.id, "approve")
    (wo,) = erp.list(u["root"], "work_order").items
    assert (wo.state, wo.data["qty"], wo.data["colour"], wo.data["sales_order"]) == (
        "planned", 2, "sage", order.id)
    assert world.stock(world.lamp_sh)["reserved"] == 3  # the stock line, not the sofa
    # its material needs come from the sofa's bill of materials, times 2 sofas
    assert [(m["component"], m["qty_per_unit"], m["required_qty"])
            for m in wo.data["materials"]] == [
        (linen.id, Decimal("6.5"), Decimal("13.0")), (world.lamp.id, Decimal("1"), Decimal("2"))]
    needs = {r["sku"]: r for r in erp.report(u["root"], "material_needs").dicts()}
    assert {sku: (Decimal(str(r["required_qty"])), r["work_orders"])
            for sku, r in needs.items()} == {"M-LIN": (Decimal("13"), 1),
                                             world.lamp.data["sku"]: (Decimal("2"), 1)}

    # shipping the sofa touches no shelf; sales by product counts it
    dn = erp.create(u["walt"], "delivery_note", {"carrier": "sf", "tracking_number": "SF1"},
                    source=f"sales_order:{order.id}")
    erp.act(u["walt"], "delivery_note", dn.id, "ship")
    assert world.stock(world.lamp_sh)["reserved"] == 0
    erp.act(u["walt"], "sales_order", order.id, "complete")
    by_product = {r["sku"]: r for r in erp.report(u["sam"], "sales_by_product",
                                                  {"since": "2026-01-01"}).dicts()}
    assert (by_product["SF-900"]["units"], Decimal(str(by_product["SF-900"]["revenue"]))) == (
        2, Decimal("16000.00"))
