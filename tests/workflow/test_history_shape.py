"""Every history event has one shape, whichever path wrote it (all go through the RecordWriter).

The shape: `from_state` is the step before (None for a new record), `to_state`
the step after, `version` the record's version after the event, and `comment`,
`diff`, `detail` are None when there is nothing to say — never an empty value.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.auth.users import SYSTEM
from tests.workflow.helpers import new_order, reread, seed_catalog

FIELDS = ["id", "record_id", "at", "actor", "action", "from_state", "to_state", "comment",
          "task_id", "version", "diff", "detail"]


def events(engine, rec):
    return engine.history(SYSTEM, rec.form, rec.id)


def kinds(event) -> dict:
    """Which fields are set, and as what: the event's shape."""
    return {k: type(getattr(event, k)).__name__ for k in FIELDS}


def assert_well_formed(event) -> None:
    assert isinstance(event.id, int) and isinstance(event.record_id, int)
    assert isinstance(event.at, datetime)
    assert isinstance(event.actor, str) and event.actor
    assert isinstance(event.version, int) and event.version >= 1
    assert event.comment is None or (isinstance(event.comment, str) and event.comment)
    assert event.diff is None or (isinstance(event.diff, dict) and event.diff)
    assert event.detail is None or (isinstance(event.detail, dict) and event.detail)
    for change in (event.diff or {}).values():
        # a field: [old, new]; a table: its lines added, removed, changed (by line id), moved
        assert (isinstance(change, list) and len(change) == 2) or (
            isinstance(change, dict) and change
            and set(change) <= {"added", "removed", "changed", "moved"})
    assert event.task_id is None or isinstance(event.task_id, int)
    assert sorted(event.to_json()) == sorted(FIELDS)


@pytest.mark.outbox_ok  # the low-stock alert queues an email; delivery is not the point here
def test_every_history_event_has_one_shape_whatever_wrote_it(engine, users):
    alice, sam = users["alice"], users["sam"]
    # the warehouse ships; reading sales orders takes the sales manager's rows rule
    walt = engine.add_user("wendy", ["warehouse", "sales_manager"])
    customer, product = seed_catalog(engine, users, price="100.00", stock=50)
    # the facade's update, once with a change and once with none
    customer = engine.update(alice, "customer", customer.id, {"name": "ACME Ltd"},
                             customer.version)
    same = engine.update(alice, "customer", customer.id, {"name": "ACME Ltd"},
                         customer.version)
    # a write that changes nothing answers the record as it is: no version, no event
    assert same.version == customer.version == 2
    order = new_order(engine, alice, customer, product, qty=45)
    engine.act(alice, "sales_order", order.id, "submit")
    engine.act(sam, "sales_order", order.id, "comment", comment="checked the price")
    engine.act(sam, "sales_order", order.id, "approve")
    # shipping updates the product on enter (stock 50 -> 5), which makes the
    # low-stock alert raise a purchase requisition
    engine.act(walt, "sales_order", order.id, "ship")
    order, product = reread(engine, order), reread(engine, product)
    [requisition] = engine.list(SYSTEM, "purchase_requisition").items

    customer = reread(engine, customer)
    records = {"customer": customer, "product": product, "order": order,
               "requisition": requisition}
    written = {name: events(engine, rec) for name, rec in records.items()}
    for name, evs in written.items():
        rec = records[name]
        for e in evs:
            assert_well_formed(e)
        # each new version has exactly one event, the last one carrying the record's version
        versions = [e.version for e in evs]
        assert versions == sorted(versions) and versions[-1] == rec.version
        assert evs[0].action == "create" and evs[0].from_state is None and evs[0].version == 1

    c_create, c_update = written["customer"]
    p_create, p_by_workflow = written["product"]
    [r_create] = written["requisition"]
    # create through the facade and create by an alert: the same shape
    assert kinds(r_create) == kinds(c_create)
    assert r_create.actor == "system" and r_create.diff["qty"] == [None, 15]
    # update through the facade and on-enter update of another record: the same shape,
    # the latter saying why in its detail
    assert c_update.diff == {"name": ["ACME", "ACME Ltd"]} and c_update.detail is None
    assert p_by_workflow.diff == {"stock_qty": [50, 5]}
    assert p_by_workflow.detail == {"by": f"workflow sales_order {order.number} entered shipped",
                                    "by_record": {"form": "sales_order", "id": order.id,
                                                  "number": order.number}}
    assert {k: v for k, v in kinds(p_by_workflow).items() if k != "detail"} == \
        {k: v for k, v in kinds(c_update).items() if k != "detail"}
    assert (p_by_workflow.actor, p_by_workflow.version, p_by_workflow.from_state) == \
        ("wendy", 2, None)

    steps = [(e.action, e.from_state, e.to_state, e.version, e.comment) for e in written["order"]]
    assert steps == [
        ("create", None, "draft", 1, None),
        ("submit", "draft", "manager_review", 2, None),
        ("comment", "manager_review", "manager_review", 2, "checked the price"),
        ("approve", "manager_review", "approved", 3, None),
        ("ship", "approved", "shipped", 4, None)]
    submit, comment, approve, ship = written["order"][1:]
    assert submit.detail["tasks"] and approve.task_id is not None
    assert comment.diff is None and comment.detail is None
    assert approve.diff == {"approved_at": [None, approve.diff["approved_at"][1]]}
    assert ship.detail["on_enter"] == [{"updated": {"form": "product", "id": product.id}}]
