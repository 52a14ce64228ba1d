"""Each entry into an approval step is a new visit: its tasks share one visit number, one
more than the step's last (the first task's INSERT counts it), and only they decide."""
from __future__ import annotations

from tests.workflow.helpers import new_order, reread, seed_catalog


def _visits(engine, user, order) -> list[tuple[str, int, str]]:
    return sorted((t.assignee, t.visit, t.status) for t in engine.step_tasks(user, order))


def test_entering_a_step_again_opens_the_next_visit_for_every_approver(engine, users):
    alice, sam, sue = users["alice"], users["sam"], users["sue"]
    catalog = seed_catalog(engine, users)
    order = new_order(engine, alice, *catalog)
    engine.act(alice, "sales_order", order.id, "submit")
    assert _visits(engine, alice, order) == [("sam", 1, "open"), ("sue", 1, "open")]
    engine.act(sam, "sales_order", order.id, "return", comment="fix the date")
    engine.act(alice, "sales_order", order.id, "submit")
    assert _visits(engine, alice, order) == [("sam", 2, "open"), ("sue", 2, "open")]
    engine.act(sue, "sales_order", order.id, "return", comment="again")
    engine.act(alice, "sales_order", order.id, "submit")
    assert _visits(engine, alice, order) == [("sam", 3, "open"), ("sue", 3, "open")]
    engine.act(sue, "sales_order", order.id, "approve")
    assert reread(engine, order).state == "approved"
    other = new_order(engine, alice, *catalog)  # visits count per record
    engine.act(alice, "sales_order", other.id, "submit")
    assert _visits(engine, alice, other) == [("sam", 1, "open"), ("sue", 1, "open")]
