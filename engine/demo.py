"""Demo data for the bundled ERP app: users per role and a year of business.

    logins = seed(engine, orders=1000, progress=print)   # {user: password}

Everything goes through the Engine facade (create, update, act), so the
records carry real numbers, events, tasks, reservations, invoices and
alerts. The engine clock is moved through the year while seeding, so dates,
events and report months spread realistically. Deterministic for a given
`seed`. Writes are grouped in `Engine.batch()` transactions, a simulated week
each (every SQLite commit is an fsync); progress goes to `progress` or, by
default, to the `engine.demo` logger (INFO, shown by `loom serve --demo`).
"""
from __future__ import annotations

import logging
import random
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable

from .errors import LoomError

# name: (roles, manager, language)
DEMO_USERS = {
    "admin": (["admin"], None, "en"),
    "gm": (["general_manager"], None, "en"),
    "sam": (["sales_manager"], "gm", "en"),
    "li.na": (["sales_manager"], "gm", "zh"),
    "alice": (["sales"], "sam", "en"),
    "bob": (["sales"], "sam", "en"),
    "wang.wei": (["sales"], "li.na", "zh"),
    "fiona": (["finance"], "gm", "en"),
    "walt": (["warehouse"], "gm", "en"),
    "pat": (["purchasing"], "gm", "en"),
    "zhang.min": (["production"], "gm", "zh"),
    "sophie": (["service"], "sam", "en"),
}
REPS = ["alice", "bob", "wang.wei"]
MANAGERS = ["sam", "li.na"]

REGIONS = ["north", "east", "south", "west", "central"]
CITIES = {"north": ["Beijing", "Tianjin"], "east": ["Shanghai", "Hangzhou", "Nanjing"],
          "south": ["Guangzhou", "Shenzhen"], "west": ["Chengdu", "Chongqing"],
          "central": ["Wuhan", "Changsha"]}
WORDS = ["Bright", "Golden", "Harbour", "Lotus", "Summit", "Jade", "Pine", "River", "Maple",
         "Crane", "Silk", "Orchid", "Bamboo", "Phoenix", "Cedar", "Willow", "Peak", "Pearl"]
KINDS = ["Interiors", "Hotels", "Offices", "Living", "Design", "Furnishings", "Homes",
         "Trading", "Studios", "Retail"]
PRODUCTS = [  # sku, name, category, price, made to order
    ("CH-100", "Oak dining chair", "furniture", 1200, False),
    ("CH-110", "Walnut armchair", "furniture", 2600, False),
    ("CH-120", "Office task chair", "furniture", 1800, False),
    ("TB-200", "Oak dining table", "furniture", 5800, False),
    ("TB-210", "Coffee table", "furniture", 2200, False),
    ("DK-300", "Standing desk", "furniture", 4200, False),
    ("SH-400", "Bookshelf", "furniture", 1900, False),
    ("LP-500", "Floor lamp", "lighting", 780, False),
    ("LP-510", "Desk lamp", "lighting", 320, False),
    ("LP-520", "Pendant light", "lighting", 1350, False),
    ("TX-600", "Linen cushion", "textile", 180, False),
    ("TX-610", "Wool rug", "textile", 2400, False),
    ("TX-620", "Blackout curtain", "textile", 650, False),
    ("SF-900", "Custom sofa", "furniture", 9800, True),
    ("WD-910", "Fitted wardrobe", "furniture", 12800, True),
    ("BD-920", "Custom bed frame", "furniture", 7600, True),
]
MATERIALS = [("MT-001", "Oak board", 180), ("MT-002", "Linen fabric", 90),
             ("MT-003", "Foam block", 60), ("MT-004", "Steel frame", 240)]
SUPPLIERS = ["Hangzhou Timber Co.", "Foshan Furniture Parts", "Suzhou Textiles",
             "Zhongshan Lighting Works", "Ningbo Hardware", "Qingdao Foam Ltd"]
WAREHOUSES = [("SH", "Shanghai DC", "上海市嘉定区"), ("GZ", "Guangzhou DC", "广州市白云区"),
              ("CD", "Chengdu DC", "成都市双流区")]
CARRIERS = ["sf", "jd", "zto", "own_fleet"]
BATCH_DAYS = 7  # simulated days per transaction

log = logging.getLogger(__name__)


class _Clock:
    """The engine's clock while seeding: set to each business day in turn."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def today(self) -> date:
        return self.at.date()


def seed(engine, *, orders: int = 1000, customers: int = 200, seed: int = 7,
         days: int = 365, progress: Callable[[str], None] | None = None,
         password: str | None = None) -> dict[str, str]:
    """Create the demo users and a year of data ending today; {user: password}.

    A database that already has sales orders keeps them: only missing users
    are added (existing users keep their passwords and are not listed).
    """
    rnd = random.Random(seed)
    if "admin" in {u.name for u in engine.users.all()}:
        users = _users(engine, rnd, password)
        return {name: pw for name, _, pw in users if pw is not None}
    say = progress or (lambda msg: log.info("demo seed: %s", msg))
    real_clock = engine.clock
    end = real_clock.now().replace(hour=9, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    clock = _Clock(start - timedelta(days=2))
    engine.clock = clock
    try:
        users = _users(engine, rnd, password)
        u = {n: engine.user(n) for n in DEMO_USERS}
        say(f"{len(users)} users")
        master = _master_data(engine, u, rnd, customers)
        say(f"{len(master['customers'])} customers, {len(master['products'])} products, "
            f"{len(master['stock'])} stock items")
        _opening_stock(engine, u, master, rnd)
        _year(engine, u, master, rnd, clock, start, end, orders, say)
    finally:
        engine.clock = real_clock
    return {name: pw for name, _, pw in users}


def _users(engine, rnd, password):
    out = []
    for name, (roles, manager, language) in DEMO_USERS.items():
        pw = password or f"{name.replace('.', '')}-demo-{rnd.randint(1000, 9999)}"
        try:
            engine.add_user(name, roles, manager=manager, email=f"{name}@loom-demo.example",
                            language=language, password=pw, is_admin=name == "admin")
        except LoomError:
            pw = None  # already there: it keeps its password
        out.append((name, roles, pw))
    return out


def _master_data(engine, u, rnd, n_customers):
    admin, pat, walt = u["admin"], u["pat"], u["walt"]
    m: dict = {"customers": [], "products": [], "stock": {}, "suppliers": [], "warehouses": []}
    with engine.batch():
        for code, name, addr in WAREHOUSES:
            m["warehouses"].append(engine.create(admin, "warehouse", {
                "code": code, "name": name, "address": addr, "keeper": "walt"}))
        for name in SUPPLIERS:
            m["suppliers"].append(engine.create(pat, "supplier", {
                "name": name, "contact_name": rnd.choice(["Chen", "Liu", "Zhao", "Huang"]),
                "phone": f"+86 21 {rnd.randint(10000000, 99999999)}",
                "payment_days": rnd.choice([30, 45, 60])}))
        materials = []
        for sku, name, cost in MATERIALS:
            materials.append(engine.create(pat, "product", {
                "sku": sku, "name": name, "category": "material", "price": str(cost * 2),
                "cost": str(cost), "supplier": rnd.choice(m["suppliers"]).id}))
        for sku, name, cat, price, mto in PRODUCTS:
            data = {"sku": sku, "name": name, "category": cat, "price": str(price),
                    "min_price": str(int(price * 0.8)), "cost": str(int(price * 0.45)),
                    "supplier": rnd.choice(m["suppliers"]).id, "lead_days": rnd.choice([5, 7, 10, 14]),
                    "made_to_order": mto}
            if mto:
                data.update(sizes="S, M, L, custom", materials="oak, walnut, linen, leather",
                            colours="natural, sage, charcoal, sand")
            p = engine.create(pat, "product", data)
            if mto:
                bom = engine.create(admin, "bom", {"product": p.id, "components": [
                    {"material": mt.id, "qty_per_unit": str(rnd.randint(1, 6))}
                    for mt in rnd.sample(materials, 3)]})
                p = engine.update(admin, "product", p.id, {"bom": bom.id}, version=p.version)
            m["products"].append(p)
        for p in m["products"]:
            if p.data["made_to_order"]:
                continue
            for wh in m["warehouses"]:
                m["stock"][(p.id, wh.id)] = engine.create(walt, "stock", {
                    "product": p.id, "warehouse": wh.id, "safety_stock": rnd.choice([10, 20, 30]),
                    "reorder_qty": rnd.choice([50, 80, 120])})
        names = set()
        for i in range(n_customers):
            region = rnd.choice(REGIONS)
            city = rnd.choice(CITIES[region])
            name = f"{city} {rnd.choice(WORDS)} {rnd.choice(KINDS)}"
            while name in names:
                name = f"{city} {rnd.choice(WORDS)} {rnd.choice(KINDS)} {len(names)}"
            names.add(name)
            rep = rnd.choice(REPS)
            m["customers"].append(engine.create(u[rep], "customer", {
                "name": name, "region": region, "industry": rnd.choice(
                    ["hospitality", "retail", "office", "residential"]),
                "phone": f"+86 {rnd.randint(130, 189)} {rnd.randint(1000, 9999)} "
                         f"{rnd.randint(1000, 9999)}",
                "email": f"buyer{i}@customer{i}.example",
                "credit_limit": str(rnd.choice([50000, 100000, 200000, 500000, 1000000])),
                "payment_days": rnd.choice([15, 30, 45, 60]),
                "contacts": [{"contact_name": rnd.choice(["Ms. Chen", "Mr. Li", "Ms. Wang",
                                                          "Mr. Zhou"]),
                              "position": "Purchasing", "phone": "+86 21 5555 0101"}],
                "addresses": [{"kind": "shipping", "address": f"{rnd.randint(1, 999)} "
                               f"{rnd.choice(WORDS)} Road, {city}"}]}))
    return m


def _opening_stock(engine, u, m, rnd):
    """The opening count (盘点) per warehouse, approved by finance; then the alerts'
    requisitions for the empty new items are turned down."""
    with engine.batch():
        for wh in m["warehouses"]:
            lines = [{"item": s.id, "counted_qty": rnd.randint(60, 250)}
                     for (pid, wid), s in m["stock"].items() if wid == wh.id]
            count = engine.create(u["walt"], "stock_count", {
                "warehouse": wh.id, "lines": lines, "notes": "Opening count"})
            engine.act(u["walt"], "stock_count", count.id, "submit")
            engine.act(u["fiona"], "stock_count", count.id, "approve")
        for r in engine.list(u["pat"], "purchase_requisition", filter="state == 'requested'",
                             limit=500).items:
            engine.act(u["pat"], "purchase_requisition", r.id, "reject",
                       comment="Opening stock counted")


def _try(fn, *a, **kw):
    try:
        return fn(*a, **kw)
    except LoomError:
        return None


def _year(engine, u, m, rnd, clock, start, end, n_orders, say):
    days = max(1, (end - start).days)
    per_day = n_orders / days
    stock_by_wh: dict = {}
    for (pid, wid), s in m["stock"].items():
        stock_by_wh.setdefault(wid, []).append(s)
    mto = [p for p in m["products"] if p.data["made_to_order"]]
    open_orders: list = []  # approved, waiting to ship: (ship day, order)
    open_invoices: list = []  # (pay day, invoice id)
    buying = _Buying()
    made = 0
    t0 = time.perf_counter()
    for first in range(0, days + 1, BATCH_DAYS):
        # a week per transaction: SQLite's synchronous=FULL makes every commit an fsync
        with engine.batch():
            for day in range(first, min(days + 1, first + BATCH_DAYS)):
                clock.at = start + timedelta(days=day, hours=rnd.randint(0, 8))
                today = clock.at.date()
                age = days - day  # days before the end: recent orders are still in flight
                count = int(per_day) + (1 if rnd.random() < per_day - int(per_day) else 0)
                for _ in range(count):
                    made += 1
                    order = _new_order(engine, u, m, rnd, stock_by_wh, mto, today)
                    if order is None:
                        continue
                    fate = _advance_order(engine, u, rnd, order, age)
                    if fate == "approved":
                        open_orders.append((day + rnd.randint(1, 12), order))
                # shipping, invoicing, payments of earlier days
                due, open_orders = [o for o in open_orders if o[0] <= day], \
                    [o for o in open_orders if o[0] > day]
                for _, order in due:
                    for inv in _ship(engine, u, rnd, order, today):
                        open_invoices.append((day + rnd.randint(10, 75), inv))
                due, open_invoices = [i for i in open_invoices if i[0] <= day], \
                    [i for i in open_invoices if i[0] > day]
                for _, inv in due:
                    _pay(engine, u, rnd, inv, today)
                _purchasing(engine, u, rnd, today, buying)
                if rnd.random() < 0.3:
                    _crm(engine, u, m, rnd, today)
                if day % 30 == 0:
                    say(f"{today}: {made}/{n_orders} orders ({time.perf_counter() - t0:.0f} s)")
    say(f"{made} orders over {days} days in {time.perf_counter() - t0:.0f} s")


def _new_order(engine, u, m, rnd, stock_by_wh, mto, today):
    rep = rnd.choice(REPS)
    customer = rnd.choice(m["customers"])
    wh = rnd.choice(list(stock_by_wh))
    items = rnd.sample(stock_by_wh[wh], rnd.randint(1, 4))
    lines = [{"product": s.data["product"], "qty": rnd.randint(1, 12)} for s in items]
    data = {"customer": customer.id, "order_date": today.isoformat(),
            "due_date": (today + timedelta(days=rnd.randint(5, 30))).isoformat(),
            "channel": rnd.choice(["phone", "email", "online", "store"]), "warehouse": wh,
            "lines": lines}
    if rnd.random() < 0.12:
        p = rnd.choice(mto)
        lines.append({"product": p.id, "size": rnd.choice(["S", "M", "L", "220x95"]),
                      "material": rnd.choice(["oak", "walnut", "linen", "leather"]),
                      "colour": rnd.choice(["natural", "sage", "charcoal", "sand"]),
                      "qty": rnd.randint(1, 3)})
    return _try(engine.create, u[rep], "sales_order", data)


def _advance_order(engine, u, rnd, order, age):
    """Move a new order along; older orders are further through their life."""
    rep = engine.user(order.owner)
    r = rnd.random()
    if age < 2 and r < 0.5:
        return "draft"
    if r < 0.03:
        _try(engine.act, rep, "sales_order", order.id, "discard")
        return "discarded"
    if not _try(engine.act, rep, "sales_order", order.id, "submit"):
        return "draft"
    if age < 4 and r < 0.6:
        return "review"
    manager = u[rnd.choice(MANAGERS)]
    if r < 0.07:
        _try(engine.act, manager, "sales_order", order.id, "reject", comment="Price too low")
        return "rejected"
    for _ in range(3):
        rec = engine.get(u["admin"], "sales_order", order.id)
        if rec.state == "approved":
            break
        who = {"manager_review": manager, "gm_review": u["gm"],
               "finance_review": u["fiona"]}.get(rec.state)
        if who is None or not _try(engine.act, who, "sales_order", order.id, "approve"):
            return rec.state
    if r > 0.97:
        _try(engine.act, rep, "sales_order", order.id, "request_cancel", comment="Customer withdrew")
        _try(engine.act, manager, "sales_order", order.id, "approve")
        return "cancelled"
    return "approved"


def _ship(engine, u, rnd, order, today):
    walt = u["walt"]
    rec = engine.get(u["admin"], "sales_order", order.id)
    if rec.state != "approved" or not rec.data["lines"]:
        return []
    lines = [{"product": ln["product"], "qty": ln["qty"], "price": str(ln["price"])}
             for ln in rec.data["lines"]]
    parts = [lines]
    if len(lines) > 1 and rnd.random() < 0.25:  # a partial shipment first
        parts = [lines[:1], lines[1:]]
    invoices = []
    for part in parts:
        dn = _try(engine.create, walt, "delivery_note", {
            "sales_order": order.id, "lines": part, "carrier": rnd.choice(CARRIERS),
            "tracking_number": f"{rnd.choice(['SF', 'JD', 'ZT'])}{rnd.randint(10**9, 10**10)}"})
        if dn is None or not _try(engine.act, walt, "delivery_note", dn.id, "ship"):
            continue
        _try(engine.act, walt, "delivery_note", dn.id, "deliver")
        for inv in engine.list(u["fiona"], "invoice", filter=f"delivery_note == {dn.id}").items:
            invoices.append(inv.id)
    if any(ln.get("size") for ln in rec.data["lines"]):  # made-to-order lines
        for wo in engine.list(u["zhang.min"], "work_order", filter=f"sales_order == {order.id}").items:
            for action in ("start", "finish", "pass"):
                _try(engine.act, u["zhang.min"], "work_order", wo.id, action)
    _try(engine.act, walt, "sales_order", order.id, "complete")
    return invoices


def _pay(engine, u, rnd, invoice_id, today):
    fiona = u["fiona"]
    inv = engine.get(fiona, "invoice", invoice_id)
    if inv.state != "issued":
        return
    amount = inv.data["outstanding"]
    if rnd.random() < 0.15:
        amount = (amount / 2).quantize(Decimal("0.01"))
    pay = _try(engine.create, fiona, "payment", {"invoice": invoice_id, "amount": str(amount),
                                                 "reference": f"BANK{rnd.randint(10**6, 10**7)}"})
    if pay and _try(engine.act, fiona, "payment", pay.id, "post"):
        _try(engine.act, fiona, "invoice", invoice_id, "settle")


class _Buying:
    """What the buyer remembers between days, so a quiet day asks the engine once."""

    def __init__(self):
        self.drafts = False  # purchase orders may be waiting in draft
        self.sent: dict = {}  # purchase order id: expected date


def _purchasing(engine, u, rnd, today, buying: _Buying):
    """The buyer works the requisitions the low-stock alert raised; goods arrive later."""
    pat, gm, walt = u["pat"], u["gm"], u["walt"]
    for r in engine.list(pat, "purchase_requisition", filter="state == 'requested'").items:
        _try(engine.act, pat, "purchase_requisition", r.id, "approve")
        if engine.get(pat, "purchase_requisition", r.id).state == "gm_review":
            _try(engine.act, gm, "purchase_requisition", r.id, "approve")
        buying.drafts |= bool(_try(engine.act, pat, "purchase_requisition", r.id, "order"))
    if buying.drafts:  # ordering a requisition drafts a purchase order
        buying.drafts = False
        for po in engine.list(pat, "purchase_order", filter="state == 'draft'").items:
            sent = _try(engine.act, pat, "purchase_order", po.id, "send")
            if sent is None:
                buying.drafts = True  # try again tomorrow
            else:
                buying.sent[sent.id] = sent.data["expected_date"]
    # goods arrive at the earliest two days before they are expected
    if not buying.sent or today < min(buying.sent.values()) - timedelta(days=2):
        return
    for po in engine.list(pat, "purchase_order", filter="state == 'sent'", limit=50).items:
        lateness = rnd.choice([-2, -1, 0, 0, 1, 3])
        if today < po.data["expected_date"] + timedelta(days=lateness):
            continue
        buying.sent.pop(po.id, None)
        gr = _try(engine.create, walt, "goods_receipt", {"purchase_order": po.id,
                                                         "qty": po.data["open_qty"]})
        if gr and _try(engine.act, walt, "goods_receipt", gr.id, "post"):
            _try(engine.act, pat, "purchase_order", po.id, "close")
            si = _try(engine.create, u["fiona"], "supplier_invoice", {
                "supplier": po.data["supplier"], "purchase_order": po.id,
                "amount": str(po.data["amount"]), "supplier_ref": f"FP{rnd.randint(10**5, 10**6)}"})
            if si and _try(engine.act, u["fiona"], "supplier_invoice", si.id, "approve") \
                    and rnd.random() < 0.7:
                _try(engine.act, u["fiona"], "supplier_invoice", si.id, "pay")


def _crm(engine, u, m, rnd, today):
    customer = rnd.choice(m["customers"])
    rep = engine.user(customer.owner) if customer.owner in DEMO_USERS else u["alice"]
    _try(engine.create, rep, "interaction", {
        "customer": customer.id, "kind": rnd.choice(["call", "visit", "email", "meeting"]),
        "subject": rnd.choice(["Quarterly review", "New catalogue", "Delivery follow-up",
                               "Price negotiation", "Showroom visit"]),
        "next_step": rnd.choice(["Send quote", "Call back next week", "Arrange samples", ""]) or None})
    if rnd.random() < 0.25:
        case = _try(engine.create, u["sophie"], "service_case", {
            "customer": customer.id, "kind": rnd.choice(["complaint", "repair"]),
            "priority": rnd.choice(["low", "normal", "high"]),
            "description": rnd.choice(["Scratch on table top", "Lamp flickers",
                                       "Late delivery", "Wobbly chair leg"])})
        if case and rnd.random() < 0.7:
            _try(engine.act, u["sophie"], "service_case", case.id, "take")
            engine_case = engine.get(u["sophie"], "service_case", case.id)
            _try(engine.update, u["sophie"], "service_case", case.id,
                 {"resolution": "Replaced the part on site"}, version=engine_case.version)
            _try(engine.act, u["sophie"], "service_case", case.id, "resolve")


__all__ = ["seed", "DEMO_USERS"]
