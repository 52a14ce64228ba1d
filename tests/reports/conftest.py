"""An engine over tests/fixtures/reports (region → customer → sales_order with lines → product)
and a fixed, seeded data set, on every backend."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.conftest import FIXTURES, make_engine

REPORTS = FIXTURES / "reports"

USERS = {
    "alice": ["sales"], "bob": ["sales"], "sam": ["sales_manager"], "fiona": ["finance"],
    "root": ["admin"],
}


def seed(eng, n_orders: int = 40, rng_seed: int = 7) -> dict:
    """Regions, customers, products and orders; returns the created records by kind."""
    rng = random.Random(rng_seed)
    u = {name: eng.user(name) for name in USERS}
    regions = [eng.create(u["sam"], "region", {"name": n, "zone": z})
               for n, z in (("North", "domestic"), ("South", "domestic"), ("Overseas", "export"))]
    customers = []
    for i in range(8):
        region = regions[i % 3].id if i != 7 else None  # one customer without a region
        customers.append(eng.create(u["alice"], "customer", {
            "name": f"Customer {i}", "region": region, "credit_limit": f"{1000 + i * 250}.50"}))
    products = []
    for i, (cat, price) in enumerate((("tools", "19.99"), ("tools", "5.05"), ("parts", "0.10"),
                                      ("parts", "123.45"), ("service", "80.00"), (None, "7.77"))):
        products.append(eng.create(u["sam"], "product",
                                   {"name": f"Product {i}", "category": cat, "price": price}))
    orders = []
    start = date(2025, 11, 20)
    channels = ["phone", "email", "online", "store", None]
    for i in range(n_orders):
        owner = u["alice"] if i % 3 else u["bob"]
        lines = []
        for _ in range(rng.randint(0 if i % 13 == 5 else 1, 4)):
            p = rng.choice(products)
            price = p.data["price"] if rng.random() < 0.8 else Decimal(rng.randint(1, 50000)) / 100
            lines.append({"product": p.id, "qty": rng.randint(1, 9), "price": str(price)})
        orders.append(eng.create(owner, "sales_order", {
            "customer": rng.choice(customers).id,
            "order_date": (start + timedelta(days=rng.randint(0, 130))).isoformat(),
            "channel": rng.choice(channels), "lines": lines,
            "discount": rng.choice([None, "5", "12.5"])}))
    return {"regions": regions, "customers": customers, "products": products, "orders": orders}


@pytest.fixture
def reng(database_url, clock):
    eng = make_engine(REPORTS, database_url, clock)
    for name, roles in USERS.items():
        eng.add_user(name, roles, is_admin=name == "root")
    yield eng
    eng.close()


@pytest.fixture
def seeded(reng):
    return seed(reng)


@pytest.fixture
def ru(reng):
    return {name: reng.user(name) for name in USERS}
