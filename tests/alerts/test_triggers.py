"""Event triggers: create, change, enter:<step>; `once`; the create action; traces."""
from __future__ import annotations

import pytest

from engine.alerts import templates


def outcomes(eng, user, alert, record_id=None):
    return [t["outcome"] for t in reversed(eng.alert_traces(user, alert=alert, record_id=record_id))]


def requisitions(eng, u):
    return eng.list(u["root"], "purchase_requisition").items


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_change_alert__fires_when_true_then_only_after_false_again(eng, u):
    p = eng.create(u["pat"], "product", {"sku": "A1", "name": "Widget", "stock_qty": 30})
    p = eng.update(u["pat"], "product", p.id, {"stock_qty": 3}, p.version)
    p = eng.update(u["pat"], "product", p.id, {"stock_qty": 2}, p.version)
    assert [n["subject"] for n in eng.notifications(u["pat"])] == ["Low stock: Widget (3 left)"]
    p = eng.update(u["pat"], "product", p.id, {"stock_qty": 40}, p.version)
    p = eng.update(u["pat"], "product", p.id, {"stock_qty": 1}, p.version)
    assert [n["subject"] for n in eng.notifications(u["pat"])] == [
        "Low stock: Widget (1 left)", "Low stock: Widget (3 left)"]
    assert outcomes(eng, u["root"], "low_stock", p.id) == [
        "condition_false", "fired", "suppressed", "condition_false", "fired"]


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_once_alert__in_one_transaction_fires_again_after_false_as_across_transactions(eng, u):
    # every write of the batch shares one transaction: what it knows of the alert's state
    # (seen false, then fired) must follow each evaluation, as separate saves do
    with eng.batch():
        p = eng.create(u["pat"], "product", {"sku": "A9", "name": "Gadget", "stock_qty": 30})
        for qty in (25, 3, 2, 40, 35, 1, 50):
            p = eng.update(u["pat"], "product", p.id, {"stock_qty": qty}, p.version)
    assert [n["subject"] for n in eng.notifications(u["pat"])] == [
        "Low stock: Gadget (1 left)", "Low stock: Gadget (3 left)"]
    assert outcomes(eng, u["root"], "low_stock", p.id) == [
        "condition_false", "condition_false", "fired", "suppressed", "condition_false",
        "condition_false", "fired", "condition_false"]


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_create_action__raises_a_requisition_with_values_from_the_alerts_record(eng, u):
    p = eng.create(u["pat"], "product", {"sku": "B2", "name": "Bolt", "stock_qty": 4,
                                         "safety_stock": 10})
    [pr] = requisitions(eng, u)
    assert (pr.data["product"], pr.data["qty"], pr.data["reason"]) == (p.id, 16, "low stock")
    assert pr.number == "PR-0001" and pr.owner == "system"
    [fired] = [t for t in eng.alert_traces(u["root"], alert="low_stock") if t["outcome"] == "fired"]
    assert fired["detail"]["created"] == [{"form": "purchase_requisition", "id": pr.id,
                                           "number": "PR-0001"}]


def test_condition_false_trace__shows_the_values_the_condition_saw(eng, u):
    p = eng.create(u["pat"], "product", {"sku": "C3", "name": "Cog", "stock_qty": 12,
                                         "safety_stock": 10})
    [trace] = eng.alert_traces(u["pat"], alert="low_stock", record_id=p.id)
    assert trace["outcome"] == "condition_false"
    assert trace["detail"]["if"] == "stock_qty < safety_stock"
    assert trace["detail"]["values"] == {"stock_qty": 12, "safety_stock": 10}


def test_create_trigger__fires_on_create_and_not_on_update(eng, u):
    o = eng.create(u["sal"], "sales_order", {"customer": "ACME", "due_date": "2026-04-01",
                                             "total": "25000"})
    eng.update(u["sal"], "sales_order", o.id, {"total": "26000"}, o.version)
    assert [n["subject"] for n in eng.notifications(u["boss"])] == [
        f"Big order {o.number} from ACME: 25000.00"]
    assert outcomes(eng, u["root"], "big_order") == ["fired"]


@pytest.mark.outbox_ok  # the queued webhook is the point
def test_enter_trigger__fires_when_the_record_enters_the_step(eng, u, webhook):
    o = eng.create(u["sal"], "sales_order", {"customer": "ACME", "due_date": "2026-04-01"})
    assert eng.notifications(u["sal"]) == []
    eng.act(u["sal"], "sales_order", o.id, "submit")
    assert [n["subject"] for n in eng.notifications(u["sal"])] == [f"{o.number} approved"]
    assert eng.outbox_status() == {"pending": 1}  # the webhook, delivered by the worker
    assert outcomes(eng, u["root"], "order_approved") == ["fired"]


def test_alert_writes_roll_back_with_the_change(eng, u):
    def boom(change):
        raise RuntimeError("later listener fails")

    eng.listeners.append(boom)
    with pytest.raises(RuntimeError):
        eng.create(u["pat"], "product", {"sku": "D4", "name": "Dowel", "stock_qty": 1})
    eng.listeners.remove(boom)
    assert eng.notifications(u["pat"]) == []
    assert requisitions(eng, u) == []
    assert eng.outbox_status() == {}
    assert eng.alert_traces(u["root"]) == []


def test_failing_alert__leaves_an_error_trace_and_the_write_stands(eng, u):
    # qty = safety_stock * 2 - stock_qty = -4 breaks the requisition's `min: 1`
    p = eng.create(u["pat"], "product", {"sku": "E5", "name": "Eye", "stock_qty": -6,
                                         "safety_stock": -5})
    assert eng.get(u["pat"], "product", p.id).data["stock_qty"] == -6
    [trace] = eng.alert_traces(u["root"], alert="low_stock", record_id=p.id)
    assert trace["outcome"] == "error" and "qty" in trace["detail"]["error"]
    assert eng.notifications(u["pat"]) == [] and requisitions(eng, u) == []
    assert eng.outbox_status() == {}  # the alert's email went with its savepoint


def test_no_recipients__is_traced(eng, u):
    eng.users.update("boss", roles=[])
    p = eng.create(u["pat"], "product", {"sku": "F6", "name": "Flange", "price": "5000",
                                         "stock_qty": 99})
    [trace] = eng.alert_traces(u["root"], alert="pricey_product", record_id=p.id)
    assert trace["outcome"] == "no_recipients"
    assert trace["detail"]["to"] == "role: sales_manager"


def test_traces__hidden_from_users_who_cannot_read_the_form(eng, u):
    eng.create(u["sal"], "sales_order", {"customer": "ACME", "due_date": "2026-04-01",
                                         "total": "25000"})
    assert eng.alert_traces(u["pat"], form="sales_order") == []
    assert len(eng.alert_traces(u["sal"], form="sales_order")) == 1


def test_explain_alert__evaluates_now_without_firing(eng, u):
    p = eng.create(u["pat"], "product", {"sku": "G7", "name": "Gear", "stock_qty": 50})
    out = eng.explain_alert(u["pat"], "low_stock", p.id)
    assert out["condition"] is False and out["values"] == {"stock_qty": 50, "safety_stock": 10}


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_inbox__unread_count_list_and_mark_read(eng, u):
    for i in range(3):
        eng.create(u["pat"], "product", {"sku": f"H{i}", "name": f"Hinge {i}", "stock_qty": 0})
    assert eng.unread_count(u["pat"]) == 3
    first = eng.notifications(u["pat"])[-1]
    assert eng.mark_read(u["pat"], [first["id"]]) == 1
    assert eng.mark_read(u["sal"], [first["id"]]) == 0  # not theirs
    assert eng.unread_count(u["pat"]) == 2
    assert len(eng.notifications(u["pat"], unread_only=True)) == 2
    assert eng.mark_read(u["pat"]) == 2 and eng.unread_count(u["pat"]) == 0


def test_templates__sandboxed_and_autoescaped_in_html():
    ctx = templates.context({"name": "<script>x</script>", "n": 1}, {}, lambda f, i: None)
    assert templates.render_text("{{name}}", ctx) == "<script>x</script>"
    assert templates.render_html("{{name}}", ctx) == "&lt;script&gt;x&lt;/script&gt;"
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        templates.render_text("{{ name.__class__.__mro__[1].__subclasses__() }}", ctx)
    with pytest.raises(SecurityError):
        templates.render_text("{% set l = [1] %}{{ l.append(2) }}", ctx)
    assert templates.render_subject("a\r\nBcc: x@evil {{n}}", ctx) == "a Bcc: x@evil 1"


def test_worker_prunes_traces_older_than_30_days(eng, u, clock):
    from engine.alerts.worker import Worker

    eng.create(u["pat"], "product", {"sku": "OLD", "name": "Old", "stock_qty": 50})
    clock.advance(days=31)
    eng.create(u["pat"], "product", {"sku": "NEW", "name": "New", "stock_qty": 50})
    assert Worker(eng).prune() == 2  # both alerts' traces of the old record
    assert {t["record_id"] for t in eng.alert_traces(u["root"])} == {2}
