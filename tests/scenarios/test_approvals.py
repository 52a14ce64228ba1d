"""Approval scenarios through the Engine facade, on SQLite and PostgreSQL.

Every step re-reads the record from the database (`reread`): nothing passes in memory.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.auth.users import SYSTEM
from engine.errors import ActionRefused, Conflict, NotFound, ValidationFailed
from tests.workflow.fixtures import APPROVALS, WORKFLOWS, engine_with_users
from tests.workflow.helpers import history_actions, new_order, reread, seed_catalog


@pytest.fixture
def wf(database_url, clock):
    eng, users = engine_with_users(APPROVALS, database_url, clock,
                                   {"mia": (["sales", "sales_manager"], "gm")})
    yield eng, users
    eng.close()


def assignees(engine, rec, status="open"):
    from engine.workflow import tasks as task_store

    with engine.db.read() as conn:
        return sorted(x.assignee for x in task_store.current(conn, rec.id, rec.state)
                      if x.status == status)


# --- two levels with an amount threshold ---------------------------------------------


def test_two_level_approval__large_order_goes_to_gm_small_order_skips_it(engine, users):
    customer, product = seed_catalog(engine, users, price="60000.00")
    big = new_order(engine, users["alice"], customer, product, qty=2)  # 120000
    small = new_order(engine, users["alice"], customer, product, qty=1)  # 60000
    for rec in (big, small):
        engine.act(users["alice"], "sales_order", rec.id, "submit")
        assert reread(engine, rec).state == "manager_review"
        assert assignees(engine, reread(engine, rec)) == ["sam", "sue"]
    engine.act(users["sam"], "sales_order", big.id, "approve")
    big = reread(engine, big)
    assert big.state == "gm_review"
    assert [t.record_id for t in engine.tasks(users["gm"])] == [big.id]
    assert engine.tasks(users["sue"]) and all(t.record_id != big.id for t in engine.tasks(users["sue"]))
    engine.act(users["gm"], "sales_order", big.id, "approve", comment="fine")
    big = reread(engine, big)
    assert big.state == "approved" and big.data["approved_at"] is not None

    engine.act(users["sue"], "sales_order", small.id, "approve")
    assert reread(engine, small).state == "approved"
    assert history_actions(engine, big) == [
        ("create", None, "draft", "alice"), ("submit", "draft", "manager_review", "alice"),
        ("approve", "manager_review", "gm_review", "sam"), ("approve", "gm_review", "approved", "gm")]
    notes = engine.notifications(users["alice"]) if hasattr(engine, "notifications") else None
    with engine.db.read() as conn:
        from engine.store import tables as t
        import sqlalchemy as sa

        subjects = conn.execute(sa.select(t.notifications.c.subject).where(
            t.notifications.c.user_name == "alice")).scalars().all()
    assert f"{big.number} approved" in subjects


def test_explain__says_which_if_matched_and_who_approves(engine, users):
    customer, product = seed_catalog(engine, users, price="60000.00")
    order = new_order(engine, users["alice"], customer, product, qty=2)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    info = {e["action"]: e for e in engine.explain(users["sam"], reread(engine, order))}
    approve = info["approve"]
    assert approve["available"] and approve["next"] == "gm_review"
    assert approve["branches"][0]["if"] == "total >= 100000"
    assert approve["branches"][0]["values"] == {"total": "120000.00"}
    assert approve["branches"][0]["matched"] is True
    assert approve["approvers"] == [{"user": "gm", "why": "has role general_manager"}]
    assert info["reject"]["next"] == "rejected"


def test_reject_needs_a_comment_and_is_recorded(engine, users):
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, users["alice"], customer, product)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    with pytest.raises(ValidationFailed) as exc:
        engine.act(users["sam"], "sales_order", order.id, "reject")
    assert "comment" in exc.value.fields
    engine.act(users["sam"], "sales_order", order.id, "reject", comment="price too low")
    order = reread(engine, order)
    assert order.state == "rejected"
    last = engine.history(SYSTEM, "sales_order", order.id)[-1]
    assert (last.action, last.comment, last.actor) == ("reject", "price too low", "sam")
    assert assignees(engine, reread(engine, order)) == []


# --- countersign ------------------------------------------------------------------------


def _submit_expense(eng, users, owner="alice", amount="50.00"):
    rec = eng.create(users[owner], "expense", {"title": "Taxi", "amount": amount})
    eng.act(users[owner], "expense", rec.id, "submit")
    rec = reread(eng, rec)
    manager = {"alice": "sam", "mia": "gm"}[owner]
    eng.act(users[manager], "expense", rec.id, "approve")
    return reread(eng, rec)


def test_all_mode__every_approver_must_approve(wf):
    eng, users = wf
    rec = _submit_expense(eng, users)
    assert rec.state == "board" and assignees(eng, rec) == ["sam", "sue"]
    eng.act(users["sam"], "expense", rec.id, "approve")
    rec = reread(eng, rec)
    assert rec.state == "board" and assignees(eng, rec) == ["sue"]
    eng.act(users["sue"], "expense", rec.id, "approve")
    rec = reread(eng, rec)
    assert rec.state == "paid" and rec.data["paid_at"] is not None


def test_all_mode__one_reject_rejects(wf):
    eng, users = wf
    rec = _submit_expense(eng, users)
    eng.act(users["sam"], "expense", rec.id, "approve")
    eng.act(users["sue"], "expense", rec.id, "reject")
    rec = reread(eng, rec)
    assert rec.state == "rejected"
    assert assignees(eng, rec) == []


def test_manager_of_owner__asks_the_owners_manager(wf):
    eng, users = wf
    rec = eng.create(users["alice"], "expense", {"title": "Taxi", "amount": "5"})
    eng.act(users["alice"], "expense", rec.id, "submit")
    rec = reread(eng, rec)
    assert rec.state == "manager" and assignees(eng, rec) == ["sam"]
    why = {e["action"]: e for e in eng.explain(users["sam"], rec)}["approve"]["approvers"]
    assert why == [{"user": "sue", "why": "named in the step's users"}] or why[0]["user"] in ("sam", "sue")


# --- transfer, return, withdraw ------------------------------------------------------


def test_transfer__new_assignee_sees_it_and_approves(engine, users):
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, users["alice"], customer, product)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    engine.act(users["sam"], "sales_order", order.id, "transfer", to="gm", comment="you decide")
    assert [t.record_id for t in engine.tasks(users["gm"])] == [order.id]
    assert engine.tasks(users["gm"])[0].transferred_from == "sam"
    assert all(t.record_id != order.id for t in engine.tasks(users["sam"]))
    with pytest.raises(Conflict):
        engine.act(users["sam"], "sales_order", order.id, "approve")
    engine.act(users["gm"], "sales_order", order.id, "approve")
    order = reread(engine, order)
    assert order.state == "approved"
    hist = engine.history(SYSTEM, "sales_order", order.id)
    transfer = [e for e in hist if e.action == "transfer"][0]
    assert transfer.detail["from"] == "sam" and transfer.detail["to"] == "gm"
    assert transfer.comment == "you decide"


def test_return_to_the_previous_step_and_resubmit(engine, users):
    customer, product = seed_catalog(engine, users, price="60000.00")
    order = new_order(engine, users["alice"], customer, product, qty=2)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    engine.act(users["sam"], "sales_order", order.id, "approve")
    order = reread(engine, order)
    assert order.state == "gm_review"
    acts = {a["name"]: a for a in engine.available_actions(users["gm"], order)}
    assert acts["return"]["to"] == ["draft", "manager_review"]
    assert acts["return"]["default_to"] == "manager_review"
    with pytest.raises(ActionRefused) as exc:
        engine.act(users["gm"], "sales_order", order.id, "return", to="approved")
    assert exc.value.reason == "not_visited"
    engine.act(users["gm"], "sales_order", order.id, "return", to="draft", comment="fix qty")
    order = reread(engine, order)
    assert order.state == "draft" and engine.tasks(users["gm"]) == []
    order = engine.update(users["alice"], "sales_order", order.id,
                          {"lines": [{"product": product.id, "qty": 1}]}, order.version)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    engine.act(users["sue"], "sales_order", order.id, "approve")
    assert reread(engine, order).state == "approved"


def test_withdraw__owner_pulls_back_until_the_first_decision(wf):
    eng, users = wf
    rec = eng.create(users["alice"], "expense", {"title": "Taxi", "amount": "5"})
    eng.act(users["alice"], "expense", rec.id, "submit")
    with pytest.raises(ActionRefused) as exc:
        eng.act(users["sam"], "expense", rec.id, "withdraw")
    assert exc.value.reason == "not_owner"
    eng.act(users["alice"], "expense", rec.id, "withdraw")
    rec = reread(eng, rec)
    assert rec.state == "draft" and eng.tasks(users["sam"]) == []
    eng.act(users["alice"], "expense", rec.id, "submit")
    eng.act(users["sam"], "expense", rec.id, "approve")
    rec = reread(eng, rec)
    eng.act(users["sam"], "expense", rec.id, "approve")  # board: first of two decisions
    with pytest.raises(ActionRefused) as exc:
        eng.act(users["alice"], "expense", rec.id, "withdraw")
    assert exc.value.reason == "already_decided"


# --- authorization ------------------------------------------------------------------


def test_self_approval_refused(engine, users):
    engine.add_user("max", ["sales", "sales_manager"], manager="gm")
    max_ = engine.user("max")
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, max_, customer, product)
    engine.act(max_, "sales_order", order.id, "submit")
    order = reread(engine, order)
    assert assignees(engine, order) == ["sam", "sue"]  # not max: he owns it
    with pytest.raises(ActionRefused) as exc:
        engine.act(max_, "sales_order", order.id, "approve")
    assert exc.value.reason == "self_approval"
    with pytest.raises(ActionRefused) as exc:
        engine.act(users["sam"], "sales_order", order.id, "transfer", to="max")
    assert exc.value.reason == "self_approval"


def test_self_approval_allowed_when_the_step_says_so(wf):
    eng, users = wf
    rec = eng.create(users["mia"], "petty", {"amount": "3"})
    eng.act(users["mia"], "petty", rec.id, "submit")
    assert "mia" in assignees(eng, reread(eng, rec))
    eng.act(users["mia"], "petty", rec.id, "approve")
    assert reread(eng, rec).state == "done"


def test_refusals_have_distinct_reasons(engine, users):
    customer, product = seed_catalog(engine, users, price="60000.00")
    order = new_order(engine, users["alice"], customer, product, qty=2)

    def reason(user, action, **kw):
        with pytest.raises((ActionRefused, Conflict)) as exc:
            engine.act(users[user], "sales_order", order.id, action, **kw)
        return getattr(exc.value, "reason", "conflict")

    assert reason("alice", "approve") == "not_in_step"        # wrong step
    assert reason("sam", "submit") == "not_allowed"           # not the owner
    assert reason("alice", "submit", version=99) == "stale_version"  # 409: reload and retry
    engine.act(users["alice"], "sales_order", order.id, "submit")
    engine.add_user("stan", ["sales_manager"])  # a manager who joined after the tasks were made
    users["stan"] = engine.user("stan")
    assert reason("stan", "approve") == "not_assignee"        # no task
    engine.act(users["sam"], "sales_order", order.id, "approve")
    assert reason("sue", "approve") == "state_changed"        # 409: sam decided first
    assert reason("sam", "ship") == "not_in_step"


def test_no_approvers__the_record_stays_and_says_why(wf):
    eng, users = wf
    eng.add_user("lone", ["sales"])  # no manager
    rec = eng.create(eng.user("lone"), "expense", {"title": "Taxi", "amount": "5"})
    with pytest.raises(ActionRefused) as exc:
        eng.act(eng.user("lone"), "expense", rec.id, "submit")
    assert exc.value.reason == "no_approvers"
    assert "the manager of owner" in exc.value.message and "lone has no manager" in exc.value.message
    rec = reread(eng, rec)
    assert rec.state == "draft" and rec.version == 1
    assert [e.action for e in eng.history(SYSTEM, "expense", rec.id)] == ["create"]


# --- delegation, add_signer, cc -------------------------------------------------------


def test_delegation__tasks_in_the_away_period_go_to_the_delegate(wf, clock):
    eng, users = wf
    eng.set_out_of_office(users["sam"], clock.today(), clock.today() + timedelta(days=3), "gm")
    rec = eng.create(users["alice"], "expense", {"title": "Taxi", "amount": "5"})
    eng.act(users["alice"], "expense", rec.id, "submit")
    inbox = eng.tasks(users["gm"])
    assert [(t.record_id, t.delegated_from) for t in inbox] == [(rec.id, "sam")]
    submit = eng.history(SYSTEM, "expense", rec.id)[-1]
    assert submit.detail["tasks"][0] == {"id": inbox[0].id, "assignee": "gm", "delegated_from": "sam"}
    eng.act(users["gm"], "expense", rec.id, "approve")
    assert reread(eng, rec).state == "board"


def test_add_signer_before_me__they_decide_first(wf):
    eng, users = wf
    rec = _submit_expense(eng, users)
    eng.act(users["sam"], "expense", rec.id, "add_signer", to="before:fiona")
    rec = reread(eng, rec)
    assert assignees(eng, rec) == ["fiona", "sue"] and assignees(eng, rec, "waiting") == ["sam"]
    with pytest.raises(ActionRefused) as exc:
        eng.act(users["sam"], "expense", rec.id, "approve")
    assert exc.value.reason == "task_waiting"
    eng.act(users["fiona"], "expense", rec.id, "approve")
    eng.act(users["sue"], "expense", rec.id, "approve")
    assert reread(eng, rec).state == "board"
    eng.act(users["sam"], "expense", rec.id, "approve")
    assert reread(eng, rec).state == "paid"


def test_add_signer_after_me__any_mode_waits_for_them(engine, users):
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, users["alice"], customer, product)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    engine.act(users["sam"], "sales_order", order.id, "add_signer", to="fiona")
    engine.act(users["sam"], "sales_order", order.id, "approve")
    order = reread(engine, order)
    assert order.state == "manager_review" and assignees(engine, order) == ["fiona"]
    engine.act(users["fiona"], "sales_order", order.id, "approve")
    assert reread(engine, order).state == "approved"


def test_cc__copied_user_reads_the_record(engine, users):
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, users["alice"], customer, product)
    engine.act(users["alice"], "sales_order", order.id, "cc", to="pat", comment="fyi")
    assert engine.get(users["pat"], "sales_order", order.id).id == order.id
    engine.act(users["pat"], "sales_order", order.id, "comment", comment="seen")
    assert [e.action for e in engine.history(SYSTEM, "sales_order", order.id)][-2:] == ["cc", "comment"]


# --- SLA -----------------------------------------------------------------------------


def test_sla__reminds_then_escalates_with_a_frozen_clock(wf, clock):
    eng, users = wf
    rec = eng.create(users["alice"], "ticket", {"subject": "Printer"})
    eng.act(users["alice"], "ticket", rec.id, "submit")
    assert eng.run_sla() == {"reminded": 0, "escalated": 0, "escalation_tasks": 0, "problems": []}
    clock.advance(days=1, minutes=1)
    assert eng.run_sla()["reminded"] == 1
    assert eng.run_sla()["reminded"] == 0  # once per remind_every
    clock.advance(days=1)
    summary = eng.run_sla()
    assert summary["reminded"] == 1 and summary["escalated"] == 0
    clock.advance(days=1)
    summary = eng.run_sla()
    assert summary["escalated"] == 1 and summary["escalation_tasks"] == 1
    assert eng.run_sla()["escalated"] == 0  # idempotent
    assert [t.record_id for t in eng.tasks(users["gm"])] == [rec.id]
    assert eng.tasks(users["gm"])[0].escalated
    eng.act(users["gm"], "ticket", rec.id, "approve")
    rec = reread(eng, rec)
    assert rec.state == "closed" and eng.tasks(users["sam"]) == []


def test_sla__reminder_and_escalation_speak_each_recipients_language(wf, clock):
    import sqlalchemy as sa

    from engine.store import tables as t

    eng, users = wf
    eng.users.update("sam", language="zh")
    rec = eng.create(users["alice"], "ticket", {"subject": "Printer"})
    eng.act(users["alice"], "ticket", rec.id, "submit")
    clock.advance(days=3, minutes=1)
    assert eng.run_sla()["escalated"] == 1

    def news(name):
        with eng.db.read() as conn:
            return conn.execute(sa.select(t.notifications.c.subject, t.notifications.c.source).where(
                t.notifications.c.user_name == name, t.notifications.c.source.like("sla:%"))).all()

    title = reread(eng, rec).number or f"#{rec.id}"
    [(reminder, source)] = news("sam")
    assert source == "sla:remind" and reminder.startswith("已超时：Ticket ") and title in reminder
    assert "Overdue" not in reminder
    [(escalation, source)] = news("gm")
    assert source == "sla:escalate" and escalation == f"Escalated to you: Ticket {title} is overdue (Triage)"


# --- on-enter actions ------------------------------------------------------------------


def test_on_enter_failure_keeps_everything_as_it_was(wf):
    eng, users = wf
    eng.add_user("wes", ["warehouse"])
    wes = eng.user("wes")
    item = eng.create(wes, "item", {"name": "Bolt", "stock": 3})
    ok = eng.create(wes, "shipment", {"item": item.id, "qty": 2})
    eng.act(wes, "shipment", ok.id, "ship")
    assert reread(eng, ok).data["note"] == "sent"
    assert reread(eng, item).data["stock"] == 1
    bad = eng.create(wes, "shipment", {"item": item.id, "qty": 5})
    before = (reread(eng, bad), eng.history(SYSTEM, "shipment", bad.id),
              eng.list(SYSTEM, "item_log").total, reread(eng, item))
    with pytest.raises(ValidationFailed) as exc:
        eng.act(wes, "shipment", bad.id, "ship")
    # the business problem, naming the record the action would break and its field
    assert exc.value.message == "Stock item Bolt: Stock: must be at least 0"
    after = (reread(eng, bad), eng.history(SYSTEM, "shipment", bad.id),
             eng.list(SYSTEM, "item_log").total, reread(eng, item))
    assert after == before


def test_update_each_line__ship_decrements_stock_per_product(engine, users):
    engine.add_user("wendy", ["warehouse", "sales_manager"])
    customer, product = seed_catalog(engine, users, stock=50)
    order = new_order(engine, users["alice"], customer, product, qty=3)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    engine.act(users["sam"], "sales_order", order.id, "approve")
    engine.act(engine.user("wendy"), "sales_order", order.id, "ship")
    assert reread(engine, order).state == "shipped"
    assert reread(engine, product).data["stock_qty"] == 47


# --- definition change ------------------------------------------------------------------


def test_stranded_records_after_a_definition_change(database_url, clock):
    eng, users = engine_with_users(WORKFLOWS / "change" / "v1", database_url, clock)
    try:
        in_legal = []
        for i in range(3):
            rec = eng.create(users["alice"], "contract", {"party": f"P{i}"})
            eng.act(users["alice"], "contract", rec.id, "submit")
            in_legal.append(rec)
        parked = eng.create(users["alice"], "contract", {"party": "Q"})
        eng.act(users["alice"], "contract", parked.id, "park")
        eng.act(users["alice"], "contract", parked.id, "resume")
        eng.act(users["alice"], "contract", parked.id, "park")
        v1 = reread(eng, parked).definition_version
        assert eng.stranded_problems() == []
        eng.reload(str(WORKFLOWS / "change" / "v2"))
        with pytest.raises(NotFound):  # update answers with the user, and pat is now inactive
            eng.users.update("pat", active=False)  # v2's reviewers: purchasing, now nobody
        assert reread(eng, parked).definition_version == v1 != eng.defs.workflows["contract"].version
        problems = eng.stranded_problems()
        text = [str(p) for p in problems]
        errors = [p for p in problems if p.severity == "error"]
        assert len(errors) == 1 and "3 contract record(s) are in step 'legal'" in errors[0].message
        assert any("action(s) resume" in t and "1 contract record(s) in step 'parked'" in t
                   for t in text)
        assert any("approvers role 'purchasing' has no users" in t for t in text)
        with pytest.raises(ActionRefused) as exc:
            eng.act(users["gm"], "contract", in_legal[0].id, "approve")
        assert exc.value.reason == "step_removed"
    finally:
        eng.close()
