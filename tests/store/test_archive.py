"""Archiving (`archive:` rules): finished old records move to the archive tables with
their history, out of lists and reports, still readable by id and searchable by admins."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.alerts.worker import Worker
from engine.auth.users import SYSTEM
from engine.clock import FrozenClock
from engine.errors import NotFound, PermissionDenied
from engine.store import tables as t
from tests.api.conftest import logged_in
from tests.conftest import DEMO_USERS, VALID, make_engine
from tests.workflow.helpers import new_order

ROOT = Path(__file__).resolve().parents[2]
RULES = {
    # rejected or shipped orders untouched for 30 days; the workflow must have ended too
    "sales_order": "archive: {after: 30d, if: \"state in ['rejected', 'shipped']\"}\n",
    # customers of the west, once no live order names them (no workflow: any record)
    "customer": "archive: {after: 30d, if: \"region == 'west'\"}\n",
}


@pytest.fixture
def app_dir(tmp_path) -> Path:
    """The valid app with the archive rules above."""
    target = tmp_path / "app"
    shutil.copytree(VALID, target)
    for form, rule in RULES.items():
        with open(target / "forms" / f"{form}.yaml", "a", encoding="utf-8") as fh:
            fh.write(rule)
    return target


@pytest.fixture
def eng(app_dir, database_url):
    e = make_engine(app_dir, database_url, FrozenClock(datetime(2026, 3, 2, 9, 0, 0)))
    for name, (roles, manager) in DEMO_USERS.items():
        e.add_user(name, roles, manager=manager, email=f"{name}@example.com",
                   password=f"{name}-pass-123", is_admin=name == "root")
    e.add_user("wes", ["warehouse", "sales_manager"])  # ships what the rows rule lets him read
    yield e
    e.close()


@pytest.fixture
def u(eng):
    return {name: eng.user(name) for name in [*DEMO_USERS, "wes"]}


def orders_in_every_state(eng, u):
    """Two old finished orders (rejected, shipped), one approved (not ended) and a draft."""
    west = eng.create(u["alice"], "customer", {"name": "West Co", "region": "west"})
    lonely = eng.create(u["alice"], "customer", {"name": "Lonely", "region": "west"})
    north = eng.create(u["alice"], "customer", {"name": "North Co", "region": "north"})
    product = eng.create(SYSTEM, "product", {"sku": "P-1", "name": "Widget", "price": "100.00",
                                             "stock_qty": 50})
    rejected, shipped, approved, draft = (
        new_order(eng, u["alice"], c, product, qty=q) for c, q in
        ((west, 1), (north, 2), (north, 3), (north, 4)))
    for rec in (rejected, shipped, approved):
        eng.act(u["alice"], "sales_order", rec.id, "submit")
    eng.act(u["sam"], "sales_order", rejected.id, "reject", comment="no budget")
    eng.act(u["sue"], "sales_order", shipped.id, "approve")
    eng.act(u["wes"], "sales_order", shipped.id, "ship")
    eng.act(u["sue"], "sales_order", approved.id, "approve")
    return {"west": west, "lonely": lonely, "north": north, "product": product,
            "rejected": rejected, "shipped": shipped, "approved": approved, "draft": draft}


def test_archive_moves_finished_old_records_with_their_history_out_of_lists_and_reports(eng, u):
    recs = orders_in_every_state(eng, u)
    root = u["root"]
    before = {k: eng.get(root, r.form, r.id) for k, r in recs.items()}
    history = {k: eng.history(root, r.form, r.id) for k, r in recs.items()}
    revenue = eng.report(root, "sales_by_month").rows

    assert eng.archive().total == 0  # nothing is 30 days old yet
    eng.clock.advance(days=31)
    dry = eng.archive(dry_run=True)
    assert dry.forms == {"customer": 1, "sales_order": 2} and dry.dry_run
    assert eng.list(root, "sales_order").total == 4  # a dry run moves nothing

    done = eng.archive()
    # the West Co customer stays: the rejected order still named it when customers ran
    assert done.forms == {"customer": 1, "sales_order": 2}
    assert sorted(r.id for r in eng.list(root, "sales_order").items) == sorted(
        [recs["approved"].id, recs["draft"].id])
    assert sorted(r.id for r in eng.list(root, "customer").items) == sorted(
        [recs["west"].id, recs["north"].id])
    assert eng.report(root, "sales_by_month").rows != revenue  # the shipped order left it
    # still readable by id, unchanged, with the whole history
    for key in ("rejected", "shipped", "lonely"):
        rec = recs[key]
        assert eng.get(root, rec.form, rec.id).to_json() == before[key].to_json()
        assert eng.history(root, rec.form, rec.id) == history[key]
    # the owner reads her archived order; the approver who decided it too; others do not
    assert eng.get(u["alice"], "sales_order", recs["rejected"].id).state == "rejected"
    assert eng.get(u["sam"], "sales_order", recs["rejected"].id).data["lines"][0]["qty"] == 1
    with pytest.raises(NotFound):
        eng.get(u["walt"], "sales_order", recs["rejected"].id)
    # read-only: no change, no action
    with pytest.raises(NotFound):
        eng.update(root, "sales_order", recs["rejected"].id, {"channel": "phone"}, 3)
    # the rows moved: tasks and events with them, typed and line rows gone
    with eng.db.read() as conn:
        gone = [recs["rejected"].id, recs["shipped"].id]
        for table in (t.records, t.archived_records):
            ids = conn.execute(sa.select(table.c.id).where(table.c.id.in_(gone))).scalars().all()
            assert len(ids) == (0 if table is t.records else 2)
        assert conn.execute(sa.select(sa.func.count()).select_from(t.tasks)
                            .where(t.tasks.c.record_id.in_(gone))).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(t.archived_tasks)
                            .where(t.archived_tasks.c.record_id.in_(gone))).scalar_one() == 6  # sam, sue, wes
        assert conn.execute(sa.text("SELECT count(*) FROM t_sales_order__lines")).scalar_one() == 2

    # a second run: the West Co customer is no longer named by a live order
    assert eng.archive().forms == {"customer": 1, "sales_order": 0}
    assert [r.id for r in eng.list(root, "customer").items] == [recs["north"].id]


def test_admins_search_the_archive_others_may_not(eng, u):
    recs = orders_in_every_state(eng, u)
    eng.clock.advance(days=31)
    eng.archive()
    root = u["root"]
    everything = eng.search_archive(root)
    assert everything.total == 3
    assert [r.id for r in eng.search_archive(root, form="sales_order").items] == sorted(
        [recs["rejected"].id, recs["shipped"].id], reverse=True)
    assert [r.id for r in eng.search_archive(root, text=recs["shipped"].number).items] == [
        recs["shipped"].id]
    assert [r.id for r in eng.search_archive(root, text="lonel").items] == [recs["lonely"].id]
    assert eng.search_archive(root, text="100%_").total == 0  # wildcards are text
    with pytest.raises(PermissionDenied):
        eng.search_archive(u["alice"])


def test_archive_api_and_admin_page(eng, u):
    from web import create_app

    recs = orders_in_every_state(eng, u)
    eng.clock.advance(days=31)
    eng.archive()
    app = create_app(eng, secret_key="test-secret")
    app.config["TESTING"] = True
    client = app.test_client()

    def get(path, name):
        return client.get(path, headers={"Authorization": f"Bearer {eng.create_token(name)}"})

    resp = get("/api/archive?form=sales_order", "root")
    assert resp.status_code == 200
    assert resp.get_json()["total"] == 2
    assert get("/api/archive", "alice").status_code == 403
    resp = get(f"/api/forms/sales_order/records/{recs['shipped'].id}", "alice")
    assert resp.status_code == 200 and resp.get_json()["state"] == "shipped"
    assert resp.get_json()["actions"] == []
    resp = get(f"/api/forms/sales_order/records/{recs['shipped'].id}/history", "alice")
    assert [e["action"] for e in resp.get_json()["items"]][-1] == "ship"
    assert "/api/archive" in get("/api/openapi.json", "root").get_json()["paths"]


def test_admin_archive_page_finds_records_that_open_read_only(eng, u):
    from web import create_app

    recs = orders_in_every_state(eng, u)
    eng.clock.advance(days=31)
    eng.archive()
    app = create_app(eng, secret_key="test-secret")
    root, alice = logged_in(app, "root"), logged_in(app, "alice")
    page = root.get(f"/admin/archive?form=sales_order&q={recs['shipped'].number}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "1 archived record(s)" in html
    assert f'href="/f/sales_order/{recs["shipped"].id}"' in html
    assert alice.get("/admin/archive").status_code == 404
    page = alice.get(f"/f/sales_order/{recs['shipped'].id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and recs["shipped"].number in html
    assert 'name="action"' not in html  # read-only: no action buttons


def test_loom_archive_cli_and_the_worker_apply_the_rules(eng, u, app_dir, database_url):
    recs = orders_in_every_state(eng, u)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOOM_DEFINITIONS": str(app_dir),
           "LOOM_DATABASE_URL": database_url}
    # the CLI's clock is real: records made at the frozen 2026-03-02 are old enough by now
    # only if the real date is past April 2026; make it certain by ageing them in SQL
    with eng.db.write() as conn:
        conn.execute(t.records.update().values(updated_at=datetime(2000, 1, 1)))
        for table in eng.typed.forms.values():
            conn.execute(table.table.update().values(_updated_at=datetime(2000, 1, 1)))
    out = subprocess.run([sys.executable, "-m", "engine.cli", "archive", "--dry-run"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["customer: would archive 1 record(s)",
                                       "sales_order: would archive 2 record(s)"]
    assert "nothing changed" in out.stderr
    out = subprocess.run([sys.executable, "-m", "engine.cli", "archive"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["customer: archived 1 record(s)",
                                       "sales_order: archived 2 record(s)"]
    # the worker's pass archives what became archivable since (West Co, now unreferenced)
    eng.clock.advance(days=10000)
    summary = Worker(eng).run_once()
    assert summary["archived"] == 1
    assert eng.get(u["root"], "customer", recs["west"].id).data["name"] == "West Co"
    assert eng.search_archive(u["root"], form="customer").total == 2


def test_two_archivers_at_once_move_every_record_once(eng, u):
    """Two workers archiving at the same time (PostgreSQL: SKIP LOCKED; SQLite: one writer)."""
    customer = eng.create(u["alice"], "customer", {"name": "North Co", "region": "north"})
    product = eng.create(SYSTEM, "product", {"sku": "P-1", "name": "W", "price": "1.00",
                                             "stock_qty": 50})
    ids = []
    for i in range(12):
        rec = new_order(eng, u["alice"], customer, product)
        eng.act(u["alice"], "sales_order", rec.id, "submit")
        eng.act(u["sam"], "sales_order", rec.id, "reject", comment="no")
        ids.append(rec.id)
    eng.clock.advance(days=31)
    barrier = threading.Barrier(2)
    results, failures = [], []

    def archive():
        try:
            barrier.wait(10)
            results.append(eng.archive().forms["sales_order"])
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=archive) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not failures
    assert sum(results) == 12
    with eng.db.read() as conn:
        moved = conn.execute(sa.select(t.archived_records.c.id)).scalars().all()
        events = conn.execute(sa.select(t.archived_events.c.id)).scalars().all()
    assert sorted(moved) == sorted(ids)
    assert len(events) == len(set(events)) == 12 * 3  # create, submit, reject: each once
