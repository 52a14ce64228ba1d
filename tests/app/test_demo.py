"""The bundled app's demo seed (definitions/demo/seed.py, named by app.yaml `demo`)
fills every page of the app: every form, every workflow step, every report, and
open work for every role. One small seed per backend, shared by the tests of
this module."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from engine.auth.users import SYSTEM
from engine.cli import load_demo
from engine.definitions.catalog import load_definitions
from engine.store import tables as t
from tests.conftest import BACKENDS, ERP, erp_engine

demo = load_demo(load_definitions(str(ERP)).app)  # as `loom serve --demo` finds it
pytestmark = pytest.mark.outbox_ok  # low-stock and credit alerts queue e-mails nobody delivers


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request, tmp_path_factory):
    with erp_engine(request.param, tmp_path_factory.mktemp("demo") / "demo.db") as (eng, clock):
        yield eng, demo.seed(eng, clock, orders=120, customers=30)


def states(eng) -> dict[str, dict[str | None, int]]:
    out: dict = defaultdict(dict)
    r = t.records
    with eng.db.read() as conn:
        for form, state, n in conn.execute(sa.select(r.c.form, r.c.state, sa.func.count())
                                           .group_by(r.c.form, r.c.state)):
            out[form][state] = n
    return out


def test_seed__lists_a_password_for_every_demo_user(seeded):
    eng, logins = seeded
    assert set(logins) == set(demo.DEMO_USERS)
    for name, pw in logins.items():
        assert eng.authenticate(name, pw).name == name


def test_seed__every_form_has_records(seeded):
    eng, _ = seeded
    have = states(eng)
    assert [f for f in eng.defs.forms if not have.get(f)] == []


def test_seed__every_workflow_has_records_in_all_but_at_most_one_step(seeded):
    eng, _ = seeded
    have = states(eng)
    short = {}
    for wf in eng.defs.workflows.values():
        missing = set(wf.steps) - set(have[wf.form])
        if len(missing) > 1:
            short[wf.form] = sorted(missing)
    assert short == {}


@pytest.mark.parametrize("form, wanted", [
    ("sales_order", ["draft", "manager_review", "gm_review", "finance_review", "approved",
                     "change_review", "amending", "cancel_review", "completed", "cancelled",
                     "rejected"]),
    ("purchase_requisition", ["requested", "gm_review", "approved", "ordered", "rejected"]),
    ("purchase_order", ["draft", "sent", "received"]),
    ("goods_receipt", ["draft", "posted"]),
    ("supplier_invoice", ["received", "approved", "paid"]),
    ("delivery_note", ["picking", "shipped", "delivered"]),
    ("invoice", ["issued", "paid"]),
    ("payment", ["draft", "posted"]),
    ("return_request", ["draft", "review", "approved", "received"]),
    ("work_order", ["planned", "in_progress", "quality_check", "done"]),
    ("stock_count", ["counting", "review", "adjusted"]),
    ("service_case", ["open", "in_progress", "resolved", "closed"]),
])
def test_seed__flows_are_in_flight_and_done(seeded, form, wanted):
    eng, _ = seeded
    have = states(eng)[form]
    assert [s for s in wanted if not have.get(s)] == []


def test_seed__returns_received_have_credit_notes(seeded):
    eng, _ = seeded
    admin = eng.user("admin")
    received = eng.list(admin, "return_request", filter="state == 'received'", limit=500).items
    notes = {c.data["return_request"] for c in eng.list(admin, "credit_note", limit=500).items}
    assert received and {r.id for r in received} <= notes


def test_seed__stock_runs_low_during_the_year_and_is_bought_again(seeded):
    eng, _ = seeded
    admin = eng.user("admin")
    raised = eng.list(admin, "purchase_requisition",
                      filter="state == 'ordered' and reason == 'Raised by the low-stock alert'")
    assert raised.total >= 5
    received = eng.list(admin, "purchase_order", filter="state == 'received'", limit=500).items
    assert len({(ln["product"], po.data["warehouse"]) for po in received
                for ln in po.data["lines"]}) >= 5
    rates = {s.data["on_time_rate"] for s in eng.list(admin, "supplier").items
             if s.data["receipts"]}
    assert len(rates) > 1  # suppliers differ in punctuality


def test_seed__every_report_returns_rows_and_charts_have_several_points(seeded):
    eng, _ = seeded
    admin = eng.user("admin")
    empty, flat = [], []
    for rid, spec in eng.defs.reports.items():
        res = eng.report(admin, rid, {})
        for r in res.tiles or [res]:
            if not r.rows:
                empty.append(r.report)
            elif r.chart is not None and r.chart.type != "table" and len(r.rows) < 2:
                flat.append(r.report)
    assert (empty, flat) == ([], [])


def test_seed__receivables_age_in_several_buckets(seeded):
    eng, _ = seeded
    buckets = [r["bucket"] for r in eng.report(eng.user("admin"), "receivables_ageing", {}).dicts()]
    assert len(buckets) >= 3 and "0" in buckets  # not yet due: 0 days overdue


def test_seed__every_approver_finds_open_tasks(seeded):
    eng, _ = seeded
    idle = [n for n in ("gm", "sam", "li.na", "fiona", "walt", "pat", "zhang.min", "sophie")
            if not eng.tasks(eng.user(n))]
    assert idle == []


def test_seed__every_demo_user_has_tasks_or_unread_notifications(seeded):
    eng, _ = seeded
    idle = [n for n in demo.DEMO_USERS if n != "admin"
            and not eng.tasks(eng.user(n)) and not eng.unread_count(eng.user(n))]
    assert idle == []


def test_seed__nothing_is_stamped_after_the_moment_it_began(seeded):
    eng, _ = seeded
    began = datetime(2026, 3, 2, 9, 0, 0)  # the fixture's clock
    stamps = [t.events.c.at, t.tasks.c.created_at, t.tasks.c.decided_at,
              t.notifications.c.created_at, t.records.c.updated_at]
    with eng.db.read() as conn:
        latest = {c.table.name + "." + c.name: conn.execute(sa.select(sa.func.max(c))).scalar()
                  for c in stamps}
        today = conn.execute(sa.select(sa.func.min(t.events.c.at), sa.func.count()).where(
            t.events.c.at >= began.replace(hour=0))).one()
    assert all(at is not None and at <= began for at in latest.values()), latest
    # today's business is there, spread over the hours before the seed began
    assert today[1] > 0 and began - today[0] >= timedelta(hours=2), today


def test_seed__a_second_time_adds_nothing(seeded):
    eng, logins = seeded
    before = states(eng)
    # the same passwords follow from the same seed: a restart prints the same logins
    assert demo.seed(eng, eng.clock, orders=120, customers=30) == logins
    assert states(eng) == before


def test_seed__work_orders_carry_their_products_bill_of_materials(seeded):
    eng, _ = seeded
    wos = eng.list(SYSTEM, "work_order", limit=200).items
    assert wos
    for wo in wos:
        bom = eng.get(SYSTEM, "bom", wo.data["bom"])
        assert [(m["component"], m["qty_per_unit"], m["required_qty"])
                for m in wo.data["materials"]] == [
            (c["material"], c["qty_per_unit"], c["qty_per_unit"] * wo.data["qty"])
            for c in bom.data["components"]]
