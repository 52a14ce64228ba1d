"""A small ERP world for the document-flow tests: users per role, warehouses, products with
opening stock and a customer, all made through the Engine facade, plus the checks of the
stock, order-line and balance invariants those tests assert after every step.

`World(erp, tag)` gives every name a `tag`, so several worlds live in one database (the
property test makes a fresh one per example) and the checks read only their own records.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from tests.conftest import ERP

APP = ERP  # the bundled app, as the document-flow tests import it from here

USERS = {
    "gm": (["general_manager"], None),
    "sam": (["sales_manager"], "gm"),
    "alice": (["sales"], "sam"),
    "fiona": (["finance"], "gm"),
    "walt": (["warehouse"], "gm"),
    "pat": (["purchasing"], "gm"),
    "zhang": (["production"], "gm"),
    "root": (["admin"], None),
}


def add_users(erp) -> None:
    for name, (roles, manager) in USERS.items():
        erp.add_user(name, roles, manager=manager, password=f"{name}-pass-123",
                     is_admin=name == "root")


class World:
    """Two warehouses (`wh` ships, `wh2` is the other), products `chair` (price 100, lowest 80)
    and `lamp` (price 50) with `opening` units counted in `wh` and 5 in `wh2`, a customer with
    a generous credit limit."""

    def __init__(self, erp, tag: str = "", opening: int = 30):
        self.erp = erp
        self.u = {n: erp.user(n) for n in USERS}
        root, pat, walt = self.u["root"], self.u["pat"], self.u["walt"]
        self.wh = erp.create(root, "warehouse", {"code": f"A{tag}", "name": f"Main {tag}"})
        self.wh2 = erp.create(root, "warehouse", {"code": f"B{tag}", "name": f"Second {tag}"})
        self.supplier = erp.create(pat, "supplier", {"name": f"Timber {tag}"})
        self.chair = erp.create(pat, "product", {
            "sku": f"CH{tag}", "name": "Chair", "price": "100", "min_price": "80", "cost": "40",
            "supplier": self.supplier.id})
        self.lamp = erp.create(pat, "product", {
            "sku": f"LP{tag}", "name": "Lamp", "price": "50", "cost": "20",
            "supplier": self.supplier.id})
        self.products = [self.chair, self.lamp]
        self.stock = {}
        for wh, qty in ((self.wh, opening), (self.wh2, 5)):
            lines = []
            for p in self.products:
                s = erp.create(walt, "stock", {"product": p.id, "warehouse": wh.id,
                                               "safety_stock": 0, "reorder_qty": 10})
                self.stock[(p.id, wh.id)] = s.id
                lines.append({"item": s.id, "counted_qty": qty})
            count = erp.create(walt, "stock_count", {"warehouse": wh.id, "lines": lines})
            erp.act(walt, "stock_count", count.id, "submit")
            erp.act(self.u["fiona"], "stock_count", count.id, "approve")
        customer = erp.create(self.u["alice"], "customer", {
            "name": f"Bright Interiors {tag}", "region": "east", "payment_days": 30})
        # only finance sets a credit limit (the field's `edit: [finance]`)
        self.customer = erp.update(self.u["fiona"], "customer", customer.id,
                                   {"credit_limit": "10000000"}, customer.version)

    # --- reading ---------------------------------------------------------------------------

    def get(self, form, rid):
        return self.erp.get(self.u["root"], form, rid)

    def all(self, form, flt):
        return self.erp.list(self.u["root"], form, filter=flt, limit=1000).items

    def stock_row(self, product, wh=None):
        return self.get("stock", self.stock[(product.id, (wh or self.wh).id)]).data

    def balance(self) -> Decimal:
        return self.get("customer", self.customer.id).data["balance"]

    def orders(self):
        return self.all("sales_order", f"customer == {self.customer.id}")

    # --- doing -----------------------------------------------------------------------------

    def order(self, lines, **extra):
        return self.erp.create(self.u["alice"], "sales_order", {
            "customer": self.customer.id, "due_date": "2026-03-20", "warehouse": self.wh.id,
            "lines": lines, **extra})

    def approved_order(self, lines):
        o = self.order(lines)
        self.erp.act(self.u["alice"], "sales_order", o.id, "submit")
        return self.erp.act(self.u["sam"], "sales_order", o.id, "approve")

    def delivery(self, order_id, lines=None):
        """A delivery note made from the order: what is left, or `lines` [(order line id, qty)]."""
        data = {"carrier": "sf", "tracking_number": "SF1"}
        if lines is not None:
            data["lines"] = [{"order_line": lid, "qty": q} for lid, q in lines]
        return self.erp.create(self.u["walt"], "delivery_note", data,
                               source=f"sales_order:{order_id}")

    def ship(self, dn_id):
        return self.erp.act(self.u["walt"], "delivery_note", dn_id, "ship")

    def return_of(self, dn_id, lines=None):
        """A return made from a shipped note: what is left, or `lines` [(note line id, qty)]."""
        data = {"reason": "damaged"}
        if lines is not None:
            data["lines"] = [{"delivery_line": lid, "qty": q} for lid, q in lines]
        return self.erp.create(self.u["alice"], "return_request", data,
                               source=f"delivery_note:{dn_id}")

    def receive_return(self, rid):
        self.erp.act(self.u["alice"], "return_request", rid, "submit")
        self.erp.act(self.u["sam"], "return_request", rid, "approve")
        return self.erp.act(self.u["walt"], "return_request", rid, "receive")

    def pay(self, invoice_id, amount):
        p = self.erp.create(self.u["fiona"], "payment", {"invoice": invoice_id,
                                                         "amount": str(amount)})
        return self.erp.act(self.u["fiona"], "payment", p.id, "post")

    # --- the invariants ----------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Stock never negative and never over-reserved; every order line's shipped, invoiced
        and returned quantities agree with the documents and stay within what was ordered and
        shipped; the customer's balance is invoices - payments - credit notes; the stock
        ledger adds up to what is on hand."""
        wh_ids = f"warehouse in [{self.wh.id}, {self.wh2.id}]"
        rows = self.all("stock", wh_ids)
        moves = defaultdict(list)
        for m in self.all("stock_move", f"item in [{', '.join(str(s.id) for s in rows)}]"):
            moves[m.data["item"]].append(m.data)
        for s in rows:
            d = s.data
            assert d["on_hand"] >= 0, d
            assert 0 <= d["reserved"] <= d["on_hand"], d
            assert d["in_transit"] >= 0, d
            # the ledger adds up to the stock
            assert sum(m["on_hand_change"] for m in moves[s.id]) == d["on_hand"], d["code"]
            assert sum(m["reserved_change"] for m in moves[s.id]) == d["reserved"], d["code"]

        shipped = defaultdict(int)
        returned_dl = defaultdict(int)
        notes = self.all("delivery_note", f"customer == {self.customer.id} and ship_date != None")
        for dn in notes:
            for ln in dn.data["lines"]:
                shipped[ln["order_line"]] += ln["qty"]
                assert 0 <= ln["returned_qty"] <= ln["qty"], ln
        invoiced = defaultdict(int)
        standing = self.all("invoice", f"customer == {self.customer.id} and state != 'voided'")
        for inv in standing:
            for ln in inv.data["lines"]:
                invoiced[ln["order_line"]] += ln["qty"]
        returned = defaultdict(int)
        for r in self.all("return_request", f"customer == {self.customer.id} and state == 'received'"):
            for ln in r.data["lines"]:
                returned[ln["order_line"]] += ln["qty"]
                returned_dl[ln["delivery_line"]] += ln["qty"]
        for dn in notes:
            for ln in dn.data["lines"]:
                assert ln["returned_qty"] == returned_dl[ln["_id"]], ln

        reserved = defaultdict(int)
        for o in self.orders():
            for ln in o.data["lines"]:
                lid = ln["_id"]
                assert 0 <= ln["shipped_qty"] <= ln["qty"], ln  # no tolerance on these products
                assert 0 <= ln["invoiced_qty"] <= ln["shipped_qty"], ln
                assert 0 <= ln["returned_qty"] <= ln["shipped_qty"], ln
                assert ln["shipped_qty"] == shipped[lid], (o.number, ln)
                assert ln["invoiced_qty"] == invoiced[lid], (o.number, ln)
                assert ln["returned_qty"] == returned[lid], (o.number, ln)
                if o.data["reserved"]:
                    reserved[(ln["product"], o.data["warehouse"])] += ln["qty"] - ln["shipped_qty"]
        for s in rows:
            key = (s.data["product"], s.data["warehouse"])
            assert s.data["reserved"] == reserved[key], (s.data["code"], dict(reserved))

        invoices = sum((i.data["amount"] for i in standing), Decimal(0))
        payments = sum((p.data["amount"] for p in self.all(
            "payment", f"customer == {self.customer.id} and state == 'posted'")), Decimal(0))
        credits = sum((c.data["amount"] for c in self.all(
            "credit_note", f"customer == {self.customer.id}")), Decimal(0))
        assert self.balance() == invoices - payments - credits
