"""Demo data for the bundled ERP app: users per role and a year of business.

    clock = HeldClock()                 # engine.clock: real time until held
    engine = Engine("definitions", url, clock=clock)
    logins = seed(engine, clock, orders=1000, progress=print)   # {user: password}

`loom serve --demo` finds this module through app.yaml (`demo: demo/seed.py`)
and calls `seed(engine, clock, progress)`. Everything goes through the Engine
facade (create, update, act, list), so the records carry real numbers, events,
tasks, reservations, invoices and alerts. The year is simulated by holding the
engine's own clock at each business moment in turn (`clock.hold`,
`clock.advance`) and releasing it at the end, so dates, events and report
months spread realistically; `clock` must be the one the engine was built with.

The year is a small discrete-event simulation: every business step (submit,
approve, ship, deliver, pay, receive goods...) is put on an agenda a few days
after the one before it, so at the end the recent records are still in
flight in every step of their workflow, and the older ones are done. Stock
settings are sized from the expected demand, so the low-stock alert fires
through the year at any size and drives requisitions, purchase orders, goods
receipts and supplier invoices. On the last day the staff leave work in
everyone's inbox (`_finale`).

Deterministic for a given `seed`. Writes are grouped in `Engine.batch()`
transactions, a simulated week each (every SQLite commit is an fsync); each
write runs in a savepoint, so one that is refused (a reservation beyond the
stock, say) is undone alone. Progress goes to `progress` or, by default, to
the `loom.demo` logger (INFO, shown by `loom serve --demo`).
"""
from __future__ import annotations

import logging
import math
import random
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable

from engine import LoomError

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
PRODUCTS = [  # sku, name, category, price, made to order, popularity
    ("CH-100", "Oak dining chair", "furniture", 1200, False, 6),
    ("CH-110", "Walnut armchair", "furniture", 2600, False, 2),
    ("CH-120", "Office task chair", "furniture", 1800, False, 5),
    ("TB-200", "Oak dining table", "furniture", 5800, False, 2),
    ("TB-210", "Coffee table", "furniture", 2200, False, 3),
    ("DK-300", "Standing desk", "furniture", 4200, False, 3),
    ("SH-400", "Bookshelf", "furniture", 1900, False, 2),
    ("LP-500", "Floor lamp", "lighting", 780, False, 3),
    ("LP-510", "Desk lamp", "lighting", 320, False, 5),
    ("LP-520", "Pendant light", "lighting", 1350, False, 2),
    ("TX-600", "Linen cushion", "textile", 180, False, 6),
    ("TX-610", "Wool rug", "textile", 2400, False, 1),
    ("TX-620", "Blackout curtain", "textile", 650, False, 3),
    ("SF-900", "Custom sofa", "furniture", 9800, True, 3),
    ("WD-910", "Fitted wardrobe", "furniture", 12800, True, 2),
    ("BD-920", "Custom bed frame", "furniture", 7600, True, 2),
]
MATERIALS = [("MT-001", "Oak board", 180), ("MT-002", "Linen fabric", 90),
             ("MT-003", "Foam block", 60), ("MT-004", "Steel frame", 240)]
SUPPLIERS = [  # name, days late: (earliest, latest) - so on-time rates differ
    ("Hangzhou Timber Co.", (-3, 1)), ("Foshan Furniture Parts", (-2, 4)),
    ("Suzhou Textiles", (-1, 2)), ("Zhongshan Lighting Works", (-1, 7)),
    ("Ningbo Hardware", (-2, 3)), ("Qingdao Foam Ltd", (0, 10))]
WAREHOUSES = [("SH", "Shanghai DC", "上海市嘉定区"), ("GZ", "Guangzhou DC", "广州市白云区"),
              ("CD", "Chengdu DC", "成都市双流区")]
CARRIERS = ["sf", "jd", "zto", "own_fleet"]
BATCH_DAYS = 7  # simulated days per transaction
LINES_PER_ORDER = 2.0  # mean stock lines per order (1 to 3)
QTY_PER_LINE = 4.5  # mean quantity per stock line (1 to 8)
PAYERS = {  # how customers pay: days after the due date (earliest, latest), weight
    "prompt": ((-12, 0), 4), "normal": ((-3, 12), 5), "slow": ((8, 55), 3), "bad": ((45, 140), 1)}

log = logging.getLogger("loom.demo")
TODAY_SPAN = timedelta(hours=8)  # the demo's last day starts at most this long before now


def seed(engine, clock, progress: Callable[[str], None] | None = None, *, orders: int = 1000,
         customers: int = 200, seed: int = 7, days: int = 365,
         password: str | None = None) -> dict[str, str]:
    """Create the demo users and a year of data ending today; {user: password}.

    `clock` is the engine's clock (`Engine(clock=...)`), held through the
    simulated year and released at the end. Passwords follow from `seed`, so a
    restart prints the same logins. A database that already has the demo users
    keeps its data: only missing users are added, and users whose password was
    changed are not listed.
    """
    if clock is not engine.clock:
        raise LoomError("the demo moves the engine's own clock: build the Engine with "
                        "clock=... and pass that clock to seed()")
    rnd = random.Random(seed)
    if "admin" in {u.name for u in engine.users.all()}:
        users = _users(engine, rnd, password)
        return {name: pw for name, _, pw in users if pw is not None}
    say = progress or (lambda msg: log.info("demo seed: %s", msg))
    now = clock.now()
    end = now.replace(hour=9, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    clock.hold(start - timedelta(days=2))
    try:
        users = _users(engine, rnd, password)
        u = {n: engine.user(n) for n in DEMO_USERS}
        say(f"{len(users)} users")
        master = _master_data(engine, u, rnd, customers, orders, days)
        say(f"{len(master['customers'])} customers, {len(master['products'])} products, "
            f"{len(master['stock'])} stock items")
        _opening_stock(engine, u, master, rnd)
        sim = _Sim(engine, u, master, rnd, clock, start, days, orders, say, now)
        sim.run()
        clock.hold(min(end, now))
        engine.run_schedules("demo")  # this morning's overdue and due-soon alerts
        _read_old_notifications(engine, u, end - timedelta(days=10))
    finally:
        clock.release()
    return {name: pw for name, _, pw in users}


def _users(engine, rnd, password):
    out = []
    for name, (roles, manager, language) in DEMO_USERS.items():
        pw = password or f"{name.replace('.', '')}-demo-{rnd.randint(1000, 9999)}"
        try:
            engine.add_user(name, roles, manager=manager, email=f"{name}@loom-demo.example",
                            language=language, password=pw, is_admin=name == "admin")
        except LoomError:  # already there from an earlier start: list it if unchanged
            pw = pw if engine.users.has_password(name, pw) else None
        out.append((name, roles, pw))
    return out


def _master_data(engine, u, rnd, n_customers, n_orders, days):
    """Warehouses, suppliers, products, stock items sized from the expected demand, customers."""
    admin, pat, walt = u["admin"], u["pat"], u["walt"]
    m: dict = {"customers": [], "products": [], "stock": {}, "suppliers": [], "warehouses": [],
               "weight": {}, "lateness": {}, "payer": {}, "cweight": []}
    with engine.batch():
        for code, name, addr in WAREHOUSES:
            m["warehouses"].append(engine.create(admin, "warehouse", {
                "code": code, "name": name, "address": addr, "keeper": "walt"}))
        for name, lateness in SUPPLIERS:
            s = engine.create(pat, "supplier", {
                "name": name, "contact_name": rnd.choice(["Chen", "Liu", "Zhao", "Huang"]),
                "phone": f"+86 21 {rnd.randint(10000000, 99999999)}",
                "email": f"sales@{name.split()[0].lower()}-supply.example",
                "payment_days": rnd.choice([30, 45, 60])})
            m["suppliers"].append(s)
            m["lateness"][s.id] = lateness
        materials = []
        for sku, name, cost in MATERIALS:
            materials.append(engine.create(pat, "product", {
                "sku": sku, "name": name, "category": "material", "unit": "kg" if cost < 100 else "pcs",
                "price": str(cost * 2), "cost": str(cost), "supplier": rnd.choice(m["suppliers"]).id}))
        for sku, name, cat, price, mto, weight in PRODUCTS:
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
            m["weight"][p.id] = weight
        # expected units a day per stock item: orders a day, one warehouse in three,
        # the item's share of the lines, the mean quantity
        stocked = [p for p in m["products"] if not p.data["made_to_order"]]
        total_w = sum(m["weight"][p.id] for p in stocked)
        per_day = n_orders / max(1, days)
        m["demand"] = {}
        for p in stocked:
            for wh in m["warehouses"]:
                d = per_day / len(m["warehouses"]) * LINES_PER_ORDER * m["weight"][p.id] / total_w \
                    * QTY_PER_LINE * rnd.uniform(0.8, 1.25)
                s = engine.create(walt, "stock", {
                    "product": p.id, "warehouse": wh.id,
                    "safety_stock": max(10, math.ceil(d * 25)),  # covers the longest lead time
                    "reorder_qty": max(20, int(round(d * rnd.uniform(40, 70), -1)))})
                m["stock"][(p.id, wh.id)] = s
                m["demand"][s.id] = d
        # a few large accounts and a long tail; credit limits roughly fit what they owe
        weights = [rnd.paretovariate(1.3) for _ in range(n_customers)]
        revenue = n_orders * 26000 / max(1, sum(weights))
        names = set()
        for i in range(n_customers):
            region = rnd.choice(REGIONS)
            city = rnd.choice(CITIES[region])
            name = f"{city} {rnd.choice(WORDS)} {rnd.choice(KINDS)}"
            while name in names:
                name = f"{city} {rnd.choice(WORDS)} {rnd.choice(KINDS)} {len(names)}"
            names.add(name)
            rep = rnd.choice(REPS)
            days_credit = rnd.choice([15, 30, 45, 60])
            owes = revenue * weights[i] * (days_credit + 20) / max(1, days) * rnd.uniform(0.8, 2.5)
            limit = next((x for x in (50000, 100000, 200000, 500000, 1000000) if x >= owes), 2000000)
            c = engine.create(u[rep], "customer", {
                "name": name, "region": region, "industry": rnd.choice(
                    ["hospitality", "retail", "office", "residential"]),
                "phone": f"+86 {rnd.randint(130, 189)} {rnd.randint(1000, 9999)} "
                         f"{rnd.randint(1000, 9999)}",
                "email": f"buyer{i}@customer{i}.example",
                "contacts": [{"contact_name": rnd.choice(["Ms. Chen", "Mr. Li", "Ms. Wang",
                                                          "Mr. Zhou"]),
                              "position": "Purchasing", "phone": "+86 21 5555 0101"}],
                "addresses": [{"kind": "shipping", "address": f"{rnd.randint(1, 999)} "
                               f"{rnd.choice(WORDS)} Road, {city}"}]})
            # credit terms are finance's to set (field `edit: [finance]`)
            c = engine.update(u["fiona"], "customer", c.id, {
                "credit_limit": str(limit), "payment_days": days_credit}, c.version)
            m["customers"].append(c)
            m["payer"][c.id] = rnd.choices(list(PAYERS), [w for _, w in PAYERS.values()])[0]
        m["cweight"] = weights
    return m


def _opening_stock(engine, u, m, rnd):
    """The opening count (盘点) per warehouse, approved by finance: three weeks to four
    months of demand above the safety stock, so items run low at different times;
    then the alerts' requisitions for the empty new items are turned down."""
    with engine.batch():
        for wh in m["warehouses"]:
            lines = [{"item": s.id, "counted_qty": s.data["safety_stock"] + 2 + int(
                m["demand"][s.id] * rnd.uniform(20, 120))}
                for (pid, wid), s in m["stock"].items() if wid == wh.id]
            count = engine.create(u["walt"], "stock_count", {
                "warehouse": wh.id, "lines": lines, "notes": "Opening count"})
            engine.act(u["walt"], "stock_count", count.id, "submit")
            engine.act(u["fiona"], "stock_count", count.id, "approve")
        for r in engine.list(u["pat"], "purchase_requisition", filter="state == 'requested'",
                             limit=500).items:
            engine.act(u["pat"], "purchase_requisition", r.id, "reject",
                       comment="Opening stock counted")


def _read_old_notifications(engine, u, before: datetime) -> None:
    """People have read what reached them more than ten days ago."""
    iso = before.isoformat(timespec="seconds") + "Z"
    for user in u.values():
        while True:
            old = [n["id"] for n in engine.notifications(user, unread_only=True, limit=500)
                   if n["created_at"] < iso]
            if not old:
                break
            engine.mark_read(user, old)


class _Sim:
    """The year as an agenda of business steps: `at(day, fn, *args)` runs fn that day."""

    def __init__(self, engine, u, m, rnd, clock, start, days, n_orders, say, now):
        self.e, self.u, self.m, self.rnd, self.clock = engine, u, m, rnd, clock
        self.start, self.days, self.n_orders, self.say = start, days, n_orders, say
        # today's business happens up to the moment the seed began, never after it: a task
        # stamped this evening would have "waited 0 s" and a message would come from the future
        self.now = now
        self.agenda: dict[int, list] = defaultdict(list)
        self.day = 0
        self.sp = None  # the batch's savepoint factory
        self.stock_by_wh: dict = defaultdict(list)
        for (pid, wid), s in m["stock"].items():
            self.stock_by_wh[wid].append(s)
        self.mto = [p for p in m["products"] if p.data["made_to_order"]]
        self.price = {p.id: p.data["price"] for p in m["products"]}
        self.made = 0
        self.seen_reqs: set = set()
        self.retries: dict = defaultdict(int)
        self.shipping: dict = {}  # order id: stock line indexes still to ship
        self.mto_orders: set = set()
        self.on_po: set = set()  # requisitions put on a purchase order
        self.calls = max(0.6, 1.4 * n_orders / 1000 * 365 / max(1, days))  # interactions a day

    # --- machinery -------------------------------------------------------------

    def at(self, day: int, fn, *args, **kw) -> None:
        if day <= self.days:  # later steps happen after today: the record stays in flight
            self.agenda[max(day, self.day)].append((fn, args, kw))

    def later(self, lo: int, hi: int, fn, *args, **kw) -> None:
        self.at(self.day + self.rnd.randint(lo, hi), fn, *args, **kw)

    def do(self, fn, *a, **kw):
        """One write in a savepoint: a refused one (LoomError) is undone alone; None then."""
        self.clock.hold(min(self.clock.now() + timedelta(minutes=2), self.now))
        try:
            with self.sp():
                return fn(*a, **kw)
        except LoomError as exc:
            log.debug("demo seed: %s%s refused: %s", getattr(fn, "__name__", fn), a[1:4], exc)
            return None

    def act(self, who: str, form: str, rid: int, action: str, **kw):
        return self.do(self.e.act, self.u[who], form, rid, action, **kw)

    def get(self, form: str, rid: int):
        return self.e.get(self.u["admin"], form, rid)

    def find(self, form: str, flt: str, limit: int = 50):
        return self.e.list(self.u["admin"], form, filter=flt, limit=limit).items

    def run(self) -> None:
        t0 = time.perf_counter()
        per_day = [1 + 0.3 * math.sin(2 * math.pi * (d + 40) / 365) for d in range(self.days + 1)]
        scale = self.n_orders / sum(per_day)
        due = 0.0
        for first in range(0, self.days + 1, BATCH_DAYS):
            with self.e.batch() as sp:
                self.sp = sp
                for day in range(first, min(self.days + 1, first + BATCH_DAYS)):
                    self.day = day
                    begin = self.start + timedelta(days=day, hours=self.rnd.randint(0, 2))
                    if day == self.days:  # today's work fits before now, not all at one moment
                        begin = max(self.clock.now(), min(begin, self.now - TODAY_SPAN))
                    self.clock.hold(min(self.now, begin))
                    due += per_day[day] * scale
                    while self.made < min(self.n_orders, int(due + 0.5)):
                        self.made += 1
                        self.new_order()
                    self.buyer_inbox()
                    self.crm()
                    if day in (self.days // 4, self.days // 2, 3 * self.days // 4):
                        self.stock_counts()
                    if day % 30 == 20:
                        self.transfer()
                    jobs = self.agenda.pop(day, [])
                    i = 0
                    while i < len(jobs):  # a job may add more for today
                        fn, args, kw = jobs[i]
                        fn(*args, **kw)
                        i += 1
                        jobs.extend(self.agenda.pop(day, []))
                    if day == self.days:
                        self.finale()
                    if day % 30 == 0:
                        self.say(f"{self.today()}: {self.made}/{self.n_orders} orders "
                                 f"({time.perf_counter() - t0:.0f} s)")
            self.sp = None
            self.e.run_schedules("demo")  # overdue approvals and invoices, orders due soon
        self.say(f"{self.made} orders over {self.days} days in {time.perf_counter() - t0:.0f} s")

    def today(self) -> date:
        return self.clock.today()

    # --- sales ---------------------------------------------------------------------

    def new_order(self, customer=None, lines=None, rep=None, mto: bool | None = None):
        rnd = self.rnd
        rep = rep or rnd.choice(REPS)
        customer = customer or rnd.choices(self.m["customers"], self.m["cweight"])[0]
        wh = rnd.choice(list(self.stock_by_wh))
        if lines is None:
            items = self.stock_by_wh[wh]
            picked: list = []
            for _ in range(rnd.randint(1, 3)):
                s = rnd.choices(items, [self.m["weight"][x.data["product"]] for x in items])[0]
                if s not in picked:
                    picked.append(s)
            lines = [{"product": s.data["product"], "qty": rnd.randint(1, 8)} for s in picked]
            if mto if mto is not None else rnd.random() < 0.12:
                p = rnd.choices(self.mto, [self.m["weight"][x.id] for x in self.mto])[0]
                lines.append({"product": p.id, "size": rnd.choice(["S", "M", "L", "220x95"]),
                              "material": rnd.choice(["oak", "walnut", "linen", "leather"]),
                              "colour": rnd.choice(["natural", "sage", "charcoal", "sand"]),
                              "qty": rnd.randint(1, 3)})
            if rnd.random() < 0.15:  # a negotiated discount, never below the lowest price
                for ln in lines:
                    ln["price"] = str((self.price[ln["product"]] * Decimal("0.9")).quantize(Decimal("1")))
        today = self.today()
        order = self.do(self.e.create, self.u[rep], "sales_order", {
            "customer": customer.id, "order_date": today.isoformat(),
            "due_date": (today + timedelta(days=rnd.randint(7, 30))).isoformat(),
            "channel": rnd.choice(["phone", "email", "online", "store"]), "warehouse": wh,
            "lines": lines, "notes": rnd.choice([None, None, None, "Deliver to the loading dock",
                                                 "Call before delivery", "Gift wrap"])})
        if order is None:
            return None
        if rnd.random() < 0.03:
            self.later(0, 3, self.act, rep, "sales_order", order.id, "discard")
        else:
            self.at(self.day + rnd.choice([0, 0, 0, 1, 1, 2, 3]), self.submit, order.id, rep)
        return order

    def submit(self, oid, rep):
        if self.act(rep, "sales_order", oid, "submit"):
            self.at(self.day + self.rnd.choice([0, 1, 1, 2]), self.review, oid)

    def review(self, oid):
        """Whoever the order waits for decides: sales manager, general manager, finance."""
        rnd = self.rnd
        rec = self.get("sales_order", oid)
        who = {"manager_review": rnd.choice(MANAGERS), "gm_review": "gm",
               "finance_review": "fiona"}.get(rec.state)
        if who is None:
            return
        r = rnd.random()
        if rec.state == "manager_review" and r < 0.04:
            self.act(who, "sales_order", oid, "reject",
                     comment=rnd.choice(["Price too low for this customer", "Duplicate order"]))
            return
        if rec.state == "finance_review" and r < 0.15:
            self.act(who, "sales_order", oid, "reject",
                     comment="Over the credit limit: ask for payment of the overdue invoices first")
            return
        if r > 0.97:
            if self.act(who, "sales_order", oid, "return",
                        comment="Please confirm the delivery date with the customer"):
                self.later(1, 2, self.submit, oid, rec.owner)
            return
        after = self.act(who, "sales_order", oid, "approve")
        if after is None:  # more than is in stock: wait for the goods, then give up
            self.retries[oid] += 1
            if self.retries[oid] <= 5:
                self.later(2, 4, self.review, oid)
            else:
                self.act(who, "sales_order", oid, "reject",
                         comment="Not enough stock by the due date; offer a later date")
        elif after.state == "approved":
            self.approved(oid, after)
        else:
            self.at(self.day + rnd.choice([0, 1, 1, 2]), self.review, oid)

    def approved(self, oid, rec):
        rnd = self.rnd
        if oid in self.shipping:  # re-approved after a change: its shipping is planned
            return
        stock_lines = [i for i, ln in enumerate(rec.data["lines"]) if not ln.get("size")]
        self.shipping[oid] = stock_lines
        if len(stock_lines) < len(rec.data["lines"]):
            self.mto_orders.add(oid)
            for wo in self.find("work_order", f"sales_order == {oid}"):
                self.later(1, 3, self.work, wo.id, "start")
        r = rnd.random()
        if r < 0.03 and oid not in self.mto_orders:
            self.later(1, 3, self.change_or_cancel, oid, "request_cancel")
        elif r < 0.05 and oid not in self.mto_orders:
            self.later(1, 3, self.change_or_cancel, oid, "request_change")
        if stock_lines:
            self.later(1, 6, self.pick, oid)

    def change_or_cancel(self, oid, action):
        rec = self.get("sales_order", oid)
        comment = {"request_cancel": "Customer withdrew the order",
                   "request_change": "Customer wants different quantities"}[action]
        if self.act(rec.owner, "sales_order", oid, action, comment=comment):
            self.later(0, 2, self.decide_change, oid, action)

    def decide_change(self, oid, action):
        manager = self.rnd.choice(MANAGERS)
        if self.rnd.random() < 0.2:
            self.act(manager, "sales_order", oid, "reject", comment="Goods are already picked")
            return
        after = self.act(manager, "sales_order", oid, "approve")
        if after is not None and after.state == "amending":
            self.later(0, 1, self.amend, oid)

    def amend(self, oid):
        rec = self.get("sales_order", oid)
        lines = [{"product": ln["product"], "qty": max(1, ln["qty"] + self.rnd.choice([-2, -1, 1, 2])),
                  "price": str(ln["price"])} for ln in rec.data["lines"]]
        if self.do(self.e.update, self.u[rec.owner], "sales_order", oid, {"lines": lines},
                   version=rec.version):
            self.shipping.pop(oid, None)
            self.submit(oid, rec.owner)

    def pick(self, oid):
        """The warehouse picks (part of) the stock lines; it ships that day or the next."""
        rnd = self.rnd
        rec = self.get("sales_order", oid)
        if rec.state in ("change_review", "cancel_review", "amending", "manager_review"):
            self.later(2, 3, self.pick, oid)
            return
        todo = self.shipping.get(oid)
        if rec.state != "approved" or not todo:
            return
        part = todo
        if len(todo) > 1 and rnd.random() < 0.25:  # a partial shipment first
            part = todo[:1]
            self.later(3, 10, self.pick, oid)
        self.shipping[oid] = [i for i in todo if i not in part]
        self.deliver_lines(rec, [rec.data["lines"][i] for i in part])

    def deliver_lines(self, rec, lines, ship: bool = True):
        """A delivery note made from the order for what is left on `lines` (order lines)."""
        rnd = self.rnd
        todo = [{"order_line": ln["_id"], "qty": ln["qty"] - ln.get("shipped_qty", 0)}
                for ln in lines if ln["qty"] > ln.get("shipped_qty", 0)]
        if not todo:
            return None
        dn = self.do(self.e.create, self.u["walt"], "delivery_note", {
            "carrier": rnd.choice(CARRIERS), "lines": todo,
            "tracking_number": f"{rnd.choice(['SF', 'JD', 'ZT'])}{rnd.randint(10**9, 10**10)}"},
            source=f"sales_order:{rec.id}")
        if dn is None or not ship:
            return dn
        if rnd.random() < 0.02:  # packed the wrong goods: start again tomorrow
            self.act("walt", "delivery_note", dn.id, "cancel")
            self.later(1, 1, self.redeliver, rec.id, [ln["_id"] for ln in lines])
            return dn
        self.later(0, 1, self.ship, dn.id, rec.id)
        return dn

    def redeliver(self, oid, line_ids):
        rec = self.get("sales_order", oid)
        if rec.state == "approved":
            self.deliver_lines(rec, [ln for ln in rec.data["lines"] if ln["_id"] in line_ids])

    def ship(self, dn_id, oid):
        if not self.act("walt", "delivery_note", dn_id, "ship"):
            return
        self.later(1, 5, self.act, "walt", "delivery_note", dn_id, "deliver")
        # the invoice shipping raised, as the shipment's history names it
        ship = self.e.history(self.u["admin"], "delivery_note", dn_id)[-1]
        for effect in (ship.detail or {}).get("on_enter", ()):
            made = effect.get("created") if isinstance(effect, dict) else None
            if made and made["form"] == "invoice":
                self.invoice_raised(self.get("invoice", made["id"]))
        order = self.get("sales_order", oid)
        if order.data["to_ship_qty"] == 0:
            self.act("walt", "sales_order", oid, "complete")
        if self.rnd.random() < 0.04:  # something was wrong with what arrived
            self.later(5, 25, self.new_return, oid, dn_id)

    def work(self, wo_id, action):
        """Production: start, send to quality check, pass (or fail and rework)."""
        rnd = self.rnd
        if action == "pass" and rnd.random() < 0.1:
            if self.act("zhang.min", "work_order", wo_id, "fail", comment="Stitching uneven, redo"):
                self.later(2, 4, self.work, wo_id, "finish")
            return
        if not self.act("zhang.min", "work_order", wo_id, action):
            return
        if action == "start":
            self.later(3, 9, self.work, wo_id, "finish")
        elif action == "finish":
            self.later(1, 2, self.work, wo_id, "pass")
        else:
            wo = self.get("work_order", wo_id)
            oid = wo.data["sales_order"]
            if oid and all(w.state == "done" for w in self.find("work_order", f"sales_order == {oid}")):
                self.later(1, 2, self.ship_made, oid)

    def ship_made(self, oid):
        rec = self.get("sales_order", oid)
        if rec.state != "approved":
            if rec.state not in ("completed", "cancelled"):
                self.later(2, 3, self.ship_made, oid)
            return
        lines = [ln for ln in rec.data["lines"] if ln.get("size")]
        if lines:
            self.deliver_lines(rec, lines)

    # --- invoices and payments --------------------------------------------------------

    def invoice_raised(self, inv):
        rnd = self.rnd
        if rnd.random() < 0.01:
            self.later(1, 4, self.act, "fiona", "invoice", inv.id, "void",
                       comment="Billed to the wrong company; reissued by hand")
            return
        lo, hi = PAYERS[self.m["payer"][inv.data["customer"]]][0]
        terms = (inv.data["due_date"] - inv.data["invoice_date"]).days
        pay_day = self.day + max(1, terms + rnd.randint(lo, hi))
        if self.m["payer"][inv.data["customer"]] == "bad" and rnd.random() < 0.3:
            return  # never paid this year: deep in the ageing report
        self.at(pay_day, self.pay, inv.id, rnd.random() < 0.12)

    def pay(self, inv_id, partly):
        inv = self.get("invoice", inv_id)
        if inv.state != "issued" or inv.data["outstanding"] <= 0:
            return
        amount = inv.data["outstanding"]
        if partly:
            amount = (amount * Decimal(self.rnd.choice(["0.3", "0.5"]))).quantize(Decimal("0.01"))
            self.later(15, 50, self.pay, inv_id, False)
        pay = self.do(self.e.create, self.u["fiona"], "payment", {
            "invoice": inv_id, "amount": str(amount),
            "method": self.rnd.choice(["bank_transfer"] * 8 + ["cheque", "cash"]),
            "reference": f"BANK{self.rnd.randint(10**6, 10**7)}"})
        if pay is not None:
            self.later(0, 1, self.post_payment, pay.id, inv_id)

    def post_payment(self, pay_id, inv_id):
        if self.act("fiona", "payment", pay_id, "post"):
            self.act("fiona", "invoice", inv_id, "settle")  # refused while something is left

    # --- returns and service ----------------------------------------------------------

    def new_return(self, oid, dn_id=None):
        """A return made from a shipped delivery note of the order: part of one line."""
        rnd = self.rnd
        rec = self.get("sales_order", oid)
        by = rec.owner  # service may not read warehouses: the rep files it, service opens a case
        service = rnd.random() < 0.35
        if dn_id is None:
            shipped = self.find("delivery_note", f"sales_order == {oid} and ship_date != None")
            if not shipped:
                return
            dn_id = rnd.choice(shipped).id
        dn = self.get("delivery_note", dn_id)
        open_lines = [ln for ln in dn.data["lines"] if ln["qty"] > ln["returned_qty"]]
        if not open_lines:
            return
        ln = rnd.choice(open_lines)
        ret = self.do(self.e.create, self.u[by], "return_request", {
            "reason": rnd.choice(["damaged", "wrong_item", "quality", "not_needed"]),
            "lines": [{"delivery_line": ln["_id"],
                       "qty": rnd.randint(1, min(3, ln["qty"] - ln["returned_qty"]))}],
            "notes": rnd.choice([None, "Photos in the email of the customer", "Box crushed"])},
            source=f"delivery_note:{dn_id}")
        if ret is None:
            return
        if service:
            case = self.do(self.e.create, self.u["sophie"], "service_case", {
                "customer": rec.data["customer"], "sales_order": oid, "kind": "return",
                "return_request": ret.id, "priority": "normal",
                "description": "Customer returns part of the delivery"})
            if case is not None:
                self.later(0, 2, self.service, case.id, "take")
        self.later(0, 1, self.submit_return, ret.id, by)

    def submit_return(self, rid, by):
        if self.act(by, "return_request", rid, "submit"):
            self.later(1, 2, self.review_return, rid, by)

    def review_return(self, rid, by):
        r = self.rnd.random()
        manager = self.rnd.choice(MANAGERS)
        if r < 0.1:
            self.act(manager, "return_request", rid, "reject", comment="Outside the 30-day return period")
        elif r < 0.17:
            if self.act(manager, "return_request", rid, "return", comment="Attach photos of the damage"):
                self.later(1, 3, self.submit_return, rid, by)
        elif self.act(manager, "return_request", rid, "approve"):
            self.later(2, 7, self.act, "walt", "return_request", rid, "receive")

    def crm(self):
        rnd = self.rnd
        for _ in range(int(self.calls) + (rnd.random() < self.calls % 1)):
            customer = rnd.choices(self.m["customers"], self.m["cweight"])[0]
            rep = customer.owner if customer.owner in DEMO_USERS else "alice"
            if rnd.random() < 0.2:
                rep = rnd.choice(MANAGERS)
            self.do(self.e.create, self.u[rep], "interaction", {
                "customer": customer.id, "kind": rnd.choice(["call", "visit", "email", "meeting"]),
                "subject": rnd.choice(["Quarterly review", "New catalogue", "Delivery follow-up",
                                       "Price negotiation", "Showroom visit", "Project tender"]),
                "notes": rnd.choice([None, "Interested in the oak range", "Asked for volume pricing",
                                     "Happy with the last delivery"]),
                "next_step": rnd.choice(["Send quote", "Call back next week", "Arrange samples", ""])
                or None})
        if rnd.random() < self.calls / 12:
            customer = rnd.choices(self.m["customers"], self.m["cweight"])[0]
            case = self.do(self.e.create, self.u["sophie"], "service_case", {
                "customer": customer.id, "kind": rnd.choice(["complaint", "repair"]),
                "priority": rnd.choice(["low", "normal", "normal", "high"]),
                "description": rnd.choice(["Scratch on table top", "Lamp flickers",
                                           "Late delivery", "Wobbly chair leg", "Rug colour faded"])})
            if case is not None:
                self.later(0, 2, self.service, case.id, "take")

    def service(self, cid, action, follow=True):
        rnd = self.rnd
        if action == "resolve":
            case = self.get("service_case", cid)
            self.do(self.e.update, self.u["sophie"], "service_case", cid, {
                "resolution": rnd.choice(["Replaced the part on site", "Sent a replacement",
                                          "Refunded the delivery fee", "Repaired in the workshop"])},
                version=case.version)
        if not self.act("sophie", "service_case", cid, action,
                        **({"comment": "Customer says it is not fixed"} if action == "reopen" else {})):
            return
        nxt = {"take": ("resolve", 1, 7), "reopen": ("resolve", 1, 4)}.get(action)
        if action == "resolve":
            nxt = ("reopen", 2, 5) if rnd.random() < 0.08 else ("close", 2, 10)
        if nxt and follow:
            self.later(nxt[1], nxt[2], self.service, cid, nxt[0])

    # --- stock and purchasing -------------------------------------------------------

    def stock_counts(self, warehouses=None):
        """A quarterly count per warehouse: small differences; finance approves it."""
        rnd = self.rnd
        for wh in warehouses or self.m["warehouses"]:
            lines = []
            for s in self.stock_by_wh[wh.id]:
                st = self.get("stock", s.id)
                diff = rnd.choice([0, 0, 0, 0, -1, 1, -2])
                lines.append({"item": s.id, "counted_qty": max(st.data["reserved"],
                                                               st.data["on_hand"] + diff)})
            count = self.do(self.e.create, self.u["walt"], "stock_count", {
                "warehouse": wh.id, "lines": lines, "notes": "Quarterly count"})
            if count is None or not self.act("walt", "stock_count", count.id, "submit"):
                continue
            if warehouses is None and wh is self.m["warehouses"][-1] and self.day == self.days // 4:
                self.act("fiona", "stock_count", count.id, "reject",
                         comment="The top shelves were not counted; count again")
                self.stock_counts([wh])
                continue
            if rnd.random() < 0.2:  # finance wants a recount first
                self.act("fiona", "stock_count", count.id, "return", comment="Recount aisle B")
                self.act("walt", "stock_count", count.id, "submit")
            self.act("fiona", "stock_count", count.id, "approve")

    def transfer(self, dispatch: bool = True, receive: bool = True):
        """The warehouse with the most of a product sends some to the one with the least."""
        rnd = self.rnd
        pid = rnd.choice(list(self.m["stock"]))[0]
        rows = [self.get("stock", s.id) for (p, w), s in self.m["stock"].items() if p == pid]
        rows.sort(key=lambda s: s.data["available"] - s.data["safety_stock"])
        low, high = rows[0], rows[-1]
        qty = min(20, (high.data["available"] - high.data["safety_stock"]) // 2)
        if qty < 1:
            return None
        tr = self.do(self.e.create, self.u["walt"], "stock_transfer", {
            "from_warehouse": high.data["warehouse"], "to_warehouse": low.data["warehouse"],
            "lines": [{"product": pid, "qty": qty}], "notes": "Rebalancing between warehouses"})
        if tr is not None and dispatch and self.act("walt", "stock_transfer", tr.id, "dispatch") \
                and receive:
            self.later(2, 5, self.act, "walt", "stock_transfer", tr.id, "receive")
        return tr

    def buyer_inbox(self):
        """New requisitions (mostly raised by the low-stock alert) reach the buyer. Once a
        week the buyer goes through the low-stock list and asks again for what is low and
        not on order (a requisition turned down, a purchase order the supplier cancelled)."""
        if self.day % 7 == 3:
            pending = {r.data["item"] for r in self.find(
                "purchase_requisition", "state in ['requested', 'gm_review', 'approved']", limit=200)}
            for po in self.find("purchase_order", "state in ['draft', 'gm_review', 'sent']", limit=200):
                pending |= {self.m["stock"][(ln["product"], po.data["warehouse"])].id
                            for ln in po.data["lines"]
                            if (ln["product"], po.data["warehouse"]) in self.m["stock"]}
            for st in self.find("stock", "projected < safety_stock", limit=100):
                if st.id not in pending:
                    self.do(self.e.create, self.u["pat"], "purchase_requisition", {
                        "item": st.id, "reason": "Low stock, nothing on order (weekly review)",
                        "qty": st.data["reorder_qty"] + st.data["safety_stock"] - st.data["projected"]})
        for r in self.find("purchase_requisition", "state == 'requested'", limit=100):
            if r.id not in self.seen_reqs:
                self.seen_reqs.add(r.id)
                self.later(0, 2, self.requisition, r.id)

    def requisition(self, rid):
        rnd = self.rnd
        if rnd.random() < 0.05:
            self.act("pat", "purchase_requisition", rid, "reject", comment="Covered by an open order")
            return
        after = self.act("pat", "purchase_requisition", rid, "approve")
        if after is None:
            return
        if after.state == "gm_review":
            self.later(1, 2, self.gm_requisition, rid)
        else:
            self.later(0, 1, self.order, rid)

    def gm_requisition(self, rid):
        if self.rnd.random() < 0.04:
            self.act("gm", "purchase_requisition", rid, "reject", comment="Order less: sales are slowing")
            return
        if self.act("gm", "purchase_requisition", rid, "approve"):
            self.later(0, 1, self.order, rid)

    def order(self, rid, send: bool = True):
        """The buyer orders approved requisitions: one purchase order per supplier and
        warehouse, a line per requisition."""
        r = self.get("purchase_requisition", rid)
        if r.state != "approved" or rid in self.on_po:
            return None
        wh = self.get("stock", r.data["item"]).data["warehouse"]
        group = [r]
        for other in self.find("purchase_requisition", f"state == 'approved' and supplier == "
                               f"{r.data['supplier']} and id != {rid}", limit=20):
            if other.id not in self.on_po and \
                    self.get("stock", other.data["item"]).data["warehouse"] == wh:
                group.append(other)
        lead = max(self.get("product", x.data["product"]).data["lead_days"] for x in group)
        po = self.do(self.e.create, self.u["pat"], "purchase_order", {
            "supplier": r.data["supplier"], "requisition": rid, "warehouse": wh,
            "expected_date": (self.today() + timedelta(days=lead)).isoformat(),
            "lines": [{"product": x.data["product"], "requisition": x.id, "qty": x.data["qty"],
                       "unit_price": str(x.data["unit_price"])} for x in group]})
        if po is None:
            return None
        self.on_po |= {x.id for x in group}
        if send:
            self.later(0, 1, self.send_po, po.id)
        return po

    def send_po(self, po_id):
        po = self.act("pat", "purchase_order", po_id, "send")
        if po is None:
            return
        if po.state == "gm_review":
            self.later(1, 2, self.gm_po, po_id)
            return
        self.sent(po)

    def gm_po(self, po_id):
        po = self.act("gm", "purchase_order", po_id, "approve")
        if po is not None:
            self.sent(po)

    def sent(self, po):
        """Its requisitions are ordered; the goods arrive as the supplier manages."""
        for rid in {ln["requisition"] for ln in po.data["lines"] if ln["requisition"]}:
            self.act("pat", "purchase_requisition", rid, "order")
        po_id = po.id
        if self.rnd.random() < 0.03:  # the supplier cannot deliver: buy again
            self.later(1, 3, self.cancel_po, po_id)
            return
        lo, hi = self.m["lateness"][po.data["supplier"]]
        arrives = (po.data["expected_date"] - self.today()).days + self.rnd.randint(lo, hi)
        self.later(max(1, arrives), max(1, arrives), self.receive, po_id)

    def cancel_po(self, po_id):  # the weekly review orders it again
        self.act("pat", "purchase_order", po_id, "cancel", comment="Supplier cannot deliver this month")

    def receive(self, po_id):
        """Goods arrive, in a receipt made from the order: all of it, or half of each line
        now and the rest a few days later."""
        rnd = self.rnd
        po = self.get("purchase_order", po_id)
        if po.data["open_qty"] <= 0 or po.state != "sent":
            return
        lines = None
        if po.data["open_qty"] > 4 and rnd.random() < 0.15:
            lines = [{"po_line": ln["_id"], "qty": ln["open_qty"] // 2}
                     for ln in po.data["lines"] if ln["open_qty"] // 2 > 0]
            self.later(3, 8, self.receive, po_id)
        gr = self.do(self.e.create, self.u["walt"], "goods_receipt",
                     {} if lines is None else {"lines": lines}, source=f"purchase_order:{po_id}")
        if gr is not None:
            self.at(self.day + rnd.choice([0, 0, 0, 1]), self.post_receipt, gr.id, po_id)

    def post_receipt(self, gr_id, po_id):
        if not self.act("walt", "goods_receipt", gr_id, "post"):
            return
        po = self.get("purchase_order", po_id)
        if po.data["open_qty"] <= 0 and self.act("walt", "purchase_order", po_id, "close"):
            self.later(0, 4, self.supplier_invoice, po_id)

    def supplier_invoice(self, po_id, again=False):
        rnd = self.rnd
        po = self.get("purchase_order", po_id)
        si = self.do(self.e.create, self.u[rnd.choice(["pat", "fiona"])], "supplier_invoice", {
            "supplier": po.data["supplier"], "purchase_order": po_id, "amount": str(po.data["amount"]),
            "supplier_ref": f"FP{rnd.randint(10**7, 10**8)}"})
        if si is not None:
            self.later(1, 3, self.check_supplier_invoice, si.id, po_id, again)

    def check_supplier_invoice(self, si_id, po_id, again):
        if not again and self.rnd.random() < 0.05:
            if self.act("fiona", "supplier_invoice", si_id, "reject",
                        comment="Price differs from the purchase order"):
                self.later(3, 7, self.supplier_invoice, po_id, True)
            return
        si = self.act("fiona", "supplier_invoice", si_id, "approve")
        if si is not None:
            terms = (si.data["due_date"] - self.today()).days
            self.later(max(1, terms - 5), max(1, terms), self.act, "fiona", "supplier_invoice",
                       si_id, "pay")

    # --- the last day: work in everyone's inbox ------------------------------------------

    def finale(self):
        """Make sure every step of every flow has something in it today, and that every
        role finds open work: the odd state a small year may not reach is made here."""
        rnd, u = self.rnd, self.u
        states = self.states()

        def have(form, state, n=1):
            return states.get(form, {}).get(state, 0) >= n

        # sales orders waiting in each review (the general manager gets a large one,
        # finance one that takes a customer over its limit)
        for _ in range(2 - min(2, states.get("sales_order", {}).get("draft", 0))):
            self.new_order_in("draft")
        for step in ("manager_review", "gm_review", "finance_review"):
            if not have("sales_order", step, 2):
                for _ in range(2):
                    self.new_order_in(step)
        for rep in REPS:  # each rep hears today that an order was approved
            self.new_order_in("approved", rep=rep)
        if not have("work_order", "planned") or not have("work_order", "in_progress") \
                or not have("work_order", "quality_check"):
            self.made_to_order_today()
        approved = [o for o in self.find("sales_order", "state == 'approved' and shipped_value == 0",
                                         limit=30) if o.id not in self.mto_orders]
        for _ in range(max(0, 6 - len(approved))):  # enough to show every after-approval step
            extra = self.new_order_in("approved", lines=[
                {"product": self.stock_by_wh[self.m["warehouses"][0].id][0].data["product"], "qty": 1}])
            if extra is not None and self.get("sales_order", extra.id).state == "approved":
                approved.insert(0, self.get("sales_order", extra.id))
        # the warehouse is picking one order and has shipped part of another
        if not have("delivery_note", "picking") and approved:
            o = approved.pop()
            self.deliver_lines(o, o.data["lines"][:1], ship=False)
        partial = [o for o in approved if len(o.data["lines"]) > 1]
        if partial and not self.find("sales_order", "state == 'approved' and shipped_value > 0", limit=1):
            o = partial[0]
            approved.remove(o)
            dn = self.deliver_lines(o, o.data["lines"][:1], ship=False)
            if dn is not None:
                self.ship(dn.id, o.id)
        for step, action in (("change_review", "request_change"), ("cancel_review", "request_cancel"),
                             ("amending", "request_change"), ("cancelled", "request_cancel")):
            if not have("sales_order", step) and approved:
                o = approved.pop()
                comment = "Customer asks to change the quantities" if action == "request_change" \
                    else "Customer found a cheaper offer"
                if self.act(o.owner, "sales_order", o.id, action, comment=comment) and \
                        step in ("amending", "cancelled"):
                    self.act(rnd.choice(MANAGERS), "sales_order", o.id, "approve")
        # production and service are asked to sign an order and a return before the manager
        review = self.find("sales_order", "state == 'manager_review'", limit=20)
        mto = [o for o in review if any(ln.get("size") for ln in o.data["lines"])] or review
        self.sign_first(mto[:1], "zhang.min", "Can production make the custom pieces by the due date?")
        self.sign_first(review[-1:], "walt", "Please confirm we can ship all of it from this warehouse")
        gm_orders = self.find("sales_order", "state == 'gm_review'", limit=5)
        for o in gm_orders[:1]:
            self.act("gm", "sales_order", o.id, "add_signer", to={"user": "pat", "position": "before"},
                     comment="Check the supplier can deliver the materials in time")
        if not have("return_request", "review", 2):
            for o in self.find("sales_order", "state == 'completed'", limit=2):
                self.new_return(o.id)
                for r in self.find("return_request", f"sales_order == {o.id} and state == 'draft'"):
                    self.submit_return(r.id, r.owner)
        self.sign_first(self.find("return_request", "state == 'review'", limit=1), "sophie",
                        "Service: please check the damage photos", form="return_request")
        for state in ("draft", "approved", "received"):
            if not have("return_request", state):
                self.return_in(state)
        # a supplier invoice waiting for finance (the year's may all be settled by chance)
        if not have("supplier_invoice", "received"):
            for po in self.find("purchase_order", "state == 'received'", limit=5):
                self.supplier_invoice(po.id)
                if self.find("supplier_invoice", "state == 'received'", limit=1):
                    break
        # after-sales: a case being worked on and one waiting for the customer to confirm
        for state, steps in (("open", ()), ("in_progress", ("take",)), ("resolved", ("take", "resolve"))):
            if not have("service_case", state):
                case = self.do(self.e.create, u["sophie"], "service_case", {
                    "customer": rnd.choice(self.m["customers"]).id, "kind": "repair",
                    "priority": "high", "description": "Drawer runner broken after a week"})
                for step in steps if case else ():
                    self.service(case.id, step, follow=False)
        # the warehouse counts one store today; yesterday's count of another waits for finance
        for i, wh in enumerate(self.m["warehouses"][:2]):
            lines = [{"item": s.id, "counted_qty": max(
                s.data["reserved"], s.data["on_hand"] + rnd.choice([0, 0, -1, 1]))}
                for s in (self.get("stock", x.id) for x in self.stock_by_wh[wh.id])]
            count = self.do(self.e.create, u["walt"], "stock_count", {
                "warehouse": wh.id, "lines": lines, "notes": "Cycle count"})
            if count and i == 1:
                self.act("walt", "stock_count", count.id, "submit")
        # stock on its way between warehouses, and a transfer being prepared
        if not have("stock_transfer", "in_transit"):
            self.transfer(receive=False)
        if not have("stock_transfer", "draft"):
            self.transfer(dispatch=False)
        # purchasing: one requisition by hand in each open step
        items = sorted(self.m["stock"].values(), key=lambda s: -self.m["demand"][s.id])
        for state, item in zip(("requested", "gm_review", "approved", "ordered"), items):
            if state == "ordered" and have("purchase_order", "draft") or \
                    state in ("requested", "approved") and have("purchase_requisition", state):
                continue
            big = state == "gm_review"
            price = self.get("product", item.data["product"]).data["cost"]
            qty = max(10, int(20000 / max(1, price)) + 5) if big else 10
            req = self.do(self.e.create, u["walt"], "purchase_requisition", {
                "item": item.id, "qty": qty, "reason": "Stock up before the holiday season"})
            if req is None or state == "requested":
                continue
            self.act("pat", "purchase_requisition", req.id, "approve")
            if state == "ordered":
                self.order(req.id, send=False)  # its purchase order stays a draft
        sent = self.find("purchase_order", "state == 'sent'", limit=1)
        if not sent:  # a purchase order on its way
            cost = self.get("product", items[-1].data["product"]).data["cost"]
            req = self.do(self.e.create, u["walt"], "purchase_requisition", {
                "item": items[-1].id, "qty": max(1, min(20, int(19000 / max(1, cost)))),
                "reason": "Display pieces for the showroom"})
            if req and self.act("pat", "purchase_requisition", req.id, "approve"):
                po = self.order(req.id, send=False)
                sent = [x for x in [po and self.act("pat", "purchase_order", po.id, "send")] if x]
                for x in sent:
                    self.act("pat", "purchase_requisition", req.id, "order")
        for state in ("gm_review", "cancelled"):  # a large order for the general manager; one withdrawn
            if not have("purchase_order", state):
                item = items[0]
                product = self.get("product", item.data["product"])
                po = self.do(self.e.create, u["pat"], "purchase_order", {
                    "supplier": product.data["supplier"], "warehouse": item.data["warehouse"],
                    "expected_date": (self.today() + timedelta(days=14)).isoformat(),
                    "lines": [{"product": product.id, "unit_price": str(product.data["cost"]),
                               "qty": int(21000 / max(1, product.data["cost"])) + 1}]})
                if po is not None:
                    self.act("pat", "purchase_order", po.id, "send" if state == "gm_review" else "cancel")
        if not have("goods_receipt", "draft"):  # part of it arrived this morning
            for po in sent:
                self.do(self.e.create, u["walt"], "goods_receipt", {"lines": [
                    {"po_line": ln["_id"], "qty": max(1, ln["open_qty"] // 2)}
                    for ln in po.data["lines"]]}, source=f"purchase_order:{po.id}")
        if not have("payment", "draft"):  # a transfer came in, not posted yet
            for inv in self.find("invoice", "state == 'issued' and outstanding > 0", limit=1):
                self.do(self.e.create, u["fiona"], "payment", {
                    "invoice": inv.id, "amount": str(inv.data["outstanding"]),
                    "reference": f"BANK{rnd.randint(10**6, 10**7)}"})

    def states(self) -> dict:
        """{form: {state: records}} of every workflow form, counted through the facade."""
        out: dict = defaultdict(dict)
        admin = self.u["admin"]
        for wf in self.e.defs.workflows.values():
            for state in wf.steps:
                n = self.e.list(admin, wf.form, filter=f"state == '{state}'", limit=1).total
                if n:
                    out[wf.form][state] = n
        return out

    def sign_first(self, records, who, comment, form="sales_order"):
        """The approver holding the task asks `who` to sign before them (加签)."""
        for rec in records:
            for manager in MANAGERS:
                if self.act(manager, form, rec.id, "add_signer", to={"user": who, "position": "before"},
                            comment=comment):
                    break

    def made_to_order_today(self):
        """An order of three custom pieces approved today: one waits, one is being made,
        one is at the quality check."""
        lines = [{"product": p.id, "qty": 1, "size": "custom", "material": "oak", "colour": "sage"}
                 for p in self.mto]
        order = self.new_order_in("approved", lines=lines)
        if order is None:
            return
        wos = self.find("work_order", f"sales_order == {order.id}")
        for i, wo in enumerate(wos[:2]):
            self.act("zhang.min", "work_order", wo.id, "start")
            if i == 1:
                self.act("zhang.min", "work_order", wo.id, "finish")

    def new_order_in(self, step, rep=None, lines=None):
        """A fresh order brought to `step` today."""
        rnd = self.rnd
        customers = self.m["customers"]
        if step == "finance_review":  # the customer with the least credit left
            customer = min((self.get("customer", c.id) for c in customers[:60]),
                           key=lambda c: c.data["credit_available"])
            big = self.mto[1].id  # a fitted wardrobe per
            qty = max(1, int(customer.data["credit_available"] // self.price[big]) + 1)
            qty = min(qty, 3) if customer.data["credit_available"] < 30000 else qty
            lines = [{"product": big, "qty": qty, "size": "custom", "material": "oak",
                      "colour": "natural"}]
        elif step == "gm_review":
            customer = rnd.choice(customers[:20])
            big = self.mto[1].id
            lines = [{"product": big, "qty": 5, "size": "custom", "material": "walnut",
                      "colour": "sand"}]
        else:
            customer = None
        order = self.new_order(customer=customer, lines=lines, rep=rep)
        if order is None:
            order = self.do(self.e.create, self.u[rep or rnd.choice(REPS)], "sales_order", {
                "customer": (customer or rnd.choice(customers)).id, "due_date":
                (self.today() + timedelta(days=21)).isoformat(),
                "warehouse": self.m["warehouses"][0].id,
                "lines": lines or [{"product": self.m["products"][0].id, "qty": 2}]})
        if order is None or step == "draft":
            return order
        self.act(order.owner, "sales_order", order.id, "submit")
        for _ in range(3):
            rec = self.get("sales_order", order.id)
            if rec.state == step:
                break
            approver = {"manager_review": rnd.choice(MANAGERS), "gm_review": "gm",
                        "finance_review": "fiona"}.get(rec.state)
            if approver is None or not self.act(approver, "sales_order", order.id, "approve"):
                break
        return order

    def return_in(self, state):
        done = self.find("sales_order", "state == 'completed'", limit=30)
        if not done:
            return
        o = self.rnd.choice(done)
        shipped = self.find("delivery_note", f"sales_order == {o.id} and ship_date != None")
        dn = shipped[0] if shipped else None
        ln = next((x for x in dn.data["lines"] if x["qty"] > x["returned_qty"]), None) if dn else None
        if ln is None:
            return
        ret = self.do(self.e.create, self.u[o.owner], "return_request", {
            "reason": "damaged", "lines": [{"delivery_line": ln["_id"], "qty": 1}]},
            source=f"delivery_note:{dn.id}")
        if ret is None or state == "draft":
            return
        self.act(o.owner, "return_request", ret.id, "submit")
        self.act("sam", "return_request", ret.id, "approve")
        if state == "received":
            self.act("walt", "return_request", ret.id, "receive")


__all__ = ["seed", "DEMO_USERS"]
