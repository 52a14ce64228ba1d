"""Shared helpers for workflow tests: records through the facade, always re-read from the database."""
from __future__ import annotations


from engine.auth.users import SYSTEM


def seed_catalog(engine, users, price="100.00", stock=50):
    """A customer and a product, created as the roles that may."""
    customer = engine.create(users["alice"], "customer", {"name": "ACME"})
    product = engine.create(SYSTEM, "product", {"sku": "P-1", "name": "Widget", "price": price,
                                                "stock_qty": stock})
    return customer, product


def new_order(engine, user, customer, product, qty=1, price=None):
    line = {"product": product.id, "qty": qty}
    if price is not None:
        line["price"] = price
    return engine.create(user, "sales_order", {"customer": customer.id, "due_date": "2026-04-01",
                                               "lines": [line]})


def reread(engine, rec):
    """The record as the database has it now (as the system user)."""
    return engine.get(SYSTEM, rec.form, rec.id)


def open_tasks(engine, user):
    return engine.tasks(user, "open")


def history_actions(engine, rec):
    return [(e.action, e.from_state, e.to_state, e.actor) for e in engine.history(SYSTEM, rec.form, rec.id)]
