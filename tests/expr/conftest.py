"""Shared environment: a sales order with a customer link and line items."""
from __future__ import annotations

import pytest

from engine.expr import Env, default_functions
from engine.expr import types as T

CUSTOMER = {
    "id": T.t(T.INTEGER), "name": T.t(T.TEXT),
    "region": T.Type(T.TEXT, options=("north", "east", "south", "west")),
    "credit_limit": T.t(T.MONEY), "parent": T.link("customer"),
}
LINE = {"qty": T.t(T.INTEGER), "price": T.t(T.MONEY), "amount": T.t(T.MONEY),
        "product": T.link("product")}
PRODUCT = {"id": T.t(T.INTEGER), "name": T.t(T.TEXT), "stock_qty": T.t(T.INTEGER)}
ORDER = {
    "id": T.t(T.INTEGER), "number": T.t(T.TEXT), "owner": T.t(T.USER),
    "state": T.Type(T.TEXT, options=("draft", "approved", "shipped")),
    "customer": T.link("customer"), "order_date": T.t(T.DATE), "due_date": T.t(T.DATE),
    "total": T.t(T.MONEY), "discount": T.t(T.PERCENT), "rate": T.t(T.DECIMAL),
    "qty": T.t(T.INTEGER), "note": T.t(T.TEXT), "urgent": T.t(T.BOOLEAN),
    "channel": T.Type(T.TEXT, options=("phone", "email", "online", "store")),
    "created_at": T.t(T.DATETIME), "lines": T.table(LINE),
}
FORMS = {"customer": CUSTOMER, "product": PRODUCT, "sales_order": ORDER}


def order_env(**extra) -> Env:
    names = dict(ORDER)
    names["user"] = T.t(T.USER)
    names.update(extra)
    return Env(names=names, forms=FORMS)


@pytest.fixture
def env() -> Env:
    return order_env()


@pytest.fixture
def functions():
    return default_functions()
