"""The inbox reads its records' values only when asked (the HTML inbox's columns; the API and
the home page show none)."""
from __future__ import annotations

from tests.workflow.helpers import new_order, seed_catalog


def test_tasks_without_values__are_the_same_tasks_with_data_unread(engine, users):
    customer, product = seed_catalog(engine, users)
    for qty in (1, 2):
        rec = new_order(engine, users["alice"], customer, product, qty=qty)
        engine.act(users["alice"], "sales_order", rec.id, "submit")
    full = engine.tasks(users["sam"])
    bare = engine.tasks(users["sam"], values=False)
    assert [t.data["lines"][0]["qty"] for t in full] == [2, 1]
    assert [t.data for t in bare] == [None, None]
    assert [t.to_json() for t in bare] == [t.to_json() for t in full]
    assert [(t.number, t.state, t.owner) for t in bare] == [(t.number, t.state, t.owner) for t in full]
