"""The inbox reads its records' values only when asked (the HTML inbox's columns; the API and
the home page show none)."""
from __future__ import annotations

from tests.workflow.helpers import new_order, seed_catalog


def _three_submitted(engine, users) -> list[int]:
    """Three orders (qty 1, 2, 3) waiting for the sales managers, oldest first."""
    customer, product = seed_catalog(engine, users)
    ids = []
    for qty in (1, 2, 3):
        rec = new_order(engine, users["alice"], customer, product, qty=qty)
        engine.act(users["alice"], "sales_order", rec.id, "submit")
        ids.append(rec.id)
    return ids


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


def test_inbox_filters__bind_their_values_per_call(engine, users, clock):
    """The inbox's statement is built once per shape of filters: each call's values still count."""
    from datetime import timedelta

    ids = _three_submitted(engine, users)
    sam = users["sam"]
    now = clock.now()
    assert [t.record_id for t in engine.tasks(sam)] == ids[::-1]
    assert [t.record_id for t in engine.tasks(sam, sort="oldest")] == ids
    assert [t.record_id for t in engine.tasks(sam, limit=2, offset=1)] == ids[::-1][1:3]
    assert [t.record_id for t in engine.tasks(sam, limit=1, offset=0)] == ids[-1:]
    assert len(engine.tasks(sam, form="sales_order")) == 3 and engine.tasks(sam, form="customer") == []
    assert len(engine.tasks(sam, step="manager_review")) == 3 and engine.tasks(sam, step="draft") == []
    assert len(engine.tasks(sam, created_before=now + timedelta(seconds=1))) == 3
    assert engine.tasks(sam, created_before=now - timedelta(days=1)) == []
    assert len(engine.tasks(sam, due_before=now + timedelta(days=30), sort="due")) == 3
    assert engine.tasks(sam, due_before=now - timedelta(days=1)) == []
    assert engine.tasks(sam, status="done") == []
    engine.act(sam, "sales_order", ids[0], "approve")
    assert [t.record_id for t in engine.tasks(sam, status="done")] == [ids[0]]
    assert [t.record_id for t in engine.tasks(sam)] == ids[:0:-1]


def test_an_inbox_page_as_json_is_each_tasks_to_json_whatever_the_task_holds(engine, users, clock):
    """The API's page is made from the stored text (datetimes sliced, not parsed): reminded,
    escalated, decided, due and commented tasks read exactly as Task.to_json writes them."""
    ids = _three_submitted(engine, users)
    clock.advance(days=2, minutes=1, seconds=7, microseconds=123456)
    assert engine.run_sla()["reminded"] == 6  # overdue: sam and sue, three orders
    engine.act(users["sam"], "sales_order", ids[0], "reject", comment="too dear")
    clock.advance(days=3)
    assert engine.run_sla()["escalated"] > 0  # to the general manager
    seen = []
    for name in ("sam", "sue", "gm"):
        for status in ("open", "done", "cancelled"):
            page = engine.task_page(users[name], status, as_json=True)
            plain = engine.task_page(users[name], status)
            assert page.items == [x.to_json() for x in plain.items], (name, status)
            assert (page.total, page.total_capped) == (plain.total, plain.total_capped)
            seen += page.items
    assert any(x["escalated"] is True for x in seen) and any(x["escalated"] is False for x in seen)
    for key in ("due_at", "reminded_at", "decided_at"):
        assert any(x[key] is not None for x in seen), key
    assert any(x["comment"] == "too dear" for x in seen)
    assert all(x["created_at"].endswith("Z") and "T" in x["created_at"] for x in seen)
