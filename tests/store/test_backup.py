"""`loom db backup` / `loom db restore` on SQLite and PostgreSQL: a restored database
holds every record, event, task and user the backup saw, also while writes go on."""
from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.auth.users import SYSTEM
from engine.clock import Clock
from engine.engine import Engine
from engine.errors import LoomError
from engine.store import tables as t
from tests.conftest import VALID, make_engine
from tests.workflow.helpers import new_order, seed_catalog

ROOT = Path(__file__).resolve().parents[2]



def busy_app(engine, users):
    """Records in every state a workflow gives: drafts, open tasks, decisions, a notification."""
    customer, product = seed_catalog(engine, users)
    orders = [new_order(engine, users["alice"], customer, product, qty=q) for q in (1, 2, 3, 4)]
    for rec in orders[1:]:
        engine.act(users["alice"], "sales_order", rec.id, "submit")
    engine.act(users["sam"], "sales_order", orders[2].id, "approve")
    engine.act(users["sue"], "sales_order", orders[3].id, "reject", comment="too early")
    return orders


def everything(engine) -> dict:
    """Every record (with its history) through the facade, and every row of every table."""
    root = engine.user("root")
    out = {}
    for form in engine.defs.forms:
        page = engine.list(root, form, limit=500)
        out[form] = [(r.to_json(), [dataclasses.asdict(e) for e in engine.history(root, form, r.id)])
                     for r in page.items]
    out["users"] = sorted((u.name, sorted(u.roles), u.manager, u.email, u.is_admin)
                          for u in engine.users.all())
    with engine.db.read() as conn:
        for name in sa.inspect(conn).get_table_names():
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            out[name] = [tuple(r) for r in conn.execute(
                sa.select(table).order_by(*(list(table.primary_key.columns) or list(table.columns))))]
    return out


def test_a_restored_backup_holds_every_record_task_event_and_user(engine, users, fresh_url,
                                                                   tmp_path):
    busy_app(engine, users)
    before = everything(engine)
    assert before["tasks"] and before["events"] and before["notifications"]
    info = engine.backup(str(tmp_path / "loom.backup"))
    assert info.counts["records"] == len(before["records"])

    restored = Engine.restore(str(tmp_path / "loom.backup"), fresh_url)
    assert restored.counts == info.counts
    again = make_engine(VALID, fresh_url, engine.clock)
    try:
        assert everything(again) == before
        # the restored database carries on: numbering and ids continue after the backup's
        after = again.create(again.user("alice"), "customer", {"name": "Later"})
        assert after.id > max(r[0] for r in before["records"])
    finally:
        again.close()


def test_a_backup_taken_while_a_thread_writes_restores_to_a_consistent_state(
        engine, users, fresh_url, tmp_path):
    customer, product = seed_catalog(engine, users)
    started, stop = threading.Event(), threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def writer():
        try:
            while not stop.is_set():
                rec = new_order(engine, users["alice"], customer, product, qty=len(written) + 1)
                engine.act(users["alice"], "sales_order", rec.id, "submit")
                written.append(rec.id)
                if len(written) == 3:
                    started.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
            started.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(60)
        engine.backup(str(tmp_path / "live.backup"))
    finally:
        stop.set()
        thread.join(60)
    assert not failures
    Engine.restore(str(tmp_path / "live.backup"), fresh_url)
    again = make_engine(VALID, fresh_url, Clock())
    try:
        root = again.user("root")
        orders = again.list(root, "sales_order", limit=500).items
        assert 3 <= len(orders) <= len(written) + 1
        # the backup is one moment: every order it holds is whole, with its lines, its
        # events, its open tasks and its typed rows. Create and submit are two transactions,
        # so the newest order may have been caught between them: a whole draft.
        newest = max(r.id for r in orders)
        assert sorted(r.id for r in orders) == sorted(set(written) | {newest})[:len(orders)]
        for rec in orders:
            history = again.history(root, "sales_order", rec.id)
            if rec.state == "draft":
                assert rec.id == newest and rec.version == 1
                assert [e.action for e in history] == ["create"]
            else:
                assert rec.state == "manager_review" and rec.version == 2
                assert [e.action for e in history] == ["create", "submit"]
            assert len(rec.data["lines"]) == 1
            assert history[-1].version == rec.version
        with again.db.read() as conn:
            tasks = conn.execute(sa.select(t.tasks.c.record_id, t.tasks.c.assignee)).all()
            typed = conn.execute(sa.text("SELECT count(*) FROM t_sales_order")).scalar_one()
            lines = conn.execute(sa.text("SELECT count(*) FROM t_sales_order__lines")).scalar_one()
        assert sorted(tasks) == sorted((r.id, who) for r in orders if r.state != "draft"
                                       for who in ("sam", "sue"))
        assert typed == lines == len(orders)
    finally:
        again.close()


def test_restore_refuses_a_database_that_already_holds_one(engine, users, tmp_path):
    busy_app(engine, users)
    engine.backup(str(tmp_path / "loom.backup"))
    with pytest.raises(LoomError, match="already holds"):
        Engine.restore(str(tmp_path / "loom.backup"), engine.db.url.render_as_string(False))


def test_restore_with_force_replaces_what_the_database_held(engine, users, fresh_url, tmp_path):
    busy_app(engine, users)
    before = everything(engine)
    engine.backup(str(tmp_path / "loom.backup"))
    other = make_engine(VALID, fresh_url, engine.clock)
    other.add_user("root", ["admin"], is_admin=True)
    other.add_user("zed", ["sales"])
    other.create(other.user("zed"), "customer", {"name": "Somebody else"})
    other.close()
    Engine.restore(str(tmp_path / "loom.backup"), fresh_url, force=True)
    again = make_engine(VALID, fresh_url, engine.clock)
    try:
        assert everything(again) == before
    finally:
        again.close()


def test_restore_refuses_a_file_that_is_not_a_loom_backup(database_url, tmp_path):
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE x (a)").connection.close()
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for path in (plain, text):
        with pytest.raises(LoomError, match="not a Loom backup"):
            Engine.restore(str(path), database_url)


def test_restore_refuses_a_damaged_backup(engine, users, fresh_url, tmp_path):
    busy_app(engine, users)
    path = tmp_path / "loom.backup"
    engine.backup(str(path))
    data = bytearray(path.read_bytes())
    if engine.db.is_sqlite:  # one record row gone from the backup: the marker's count disagrees
        conn = sqlite3.connect(path)
        conn.execute("DELETE FROM records WHERE id = (SELECT max(id) FROM records)")
        conn.commit()
        conn.close()
        message = "records: 5 row"
    else:  # flip a byte of the dump
        data[-100] ^= 0xFF
        path.write_bytes(bytes(data))
        message = "do not match its checksum"
    with pytest.raises(LoomError, match=message):
        Engine.restore(str(path), fresh_url)


def test_restore_refuses_a_backup_of_an_unknown_schema_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    make_engine(VALID, url, Clock()).close()
    path = tmp_path / "a.backup"
    eng = make_engine(VALID, url, Clock())
    eng.backup(str(path))
    eng.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    conn.execute("UPDATE loom_backup SET value = '9999_from_the_future' WHERE key = 'revision'")
    conn.commit()
    conn.close()
    with pytest.raises(LoomError, match="revision '9999_from_the_future', which this version"):
        Engine.restore(str(path), f"sqlite:///{tmp_path / 'b.db'}")


def test_cli_backup_and_restore(engine, users, fresh_url, tmp_path):
    busy_app(engine, users)
    url = engine.db.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    path = str(tmp_path / "cli.backup")
    out = subprocess.run([sys.executable, "-m", "engine.cli", "db", "backup", path,
                          "--database", url], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("backed up 6 record(s) to ")
    out = subprocess.run([sys.executable, "-m", "engine.cli", "db", "restore", path,
                          "--database", fresh_url], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "restored 6 record(s)" in out.stdout and "every table checked" in out.stdout
    again = make_engine(VALID, fresh_url, engine.clock)
    try:
        assert again.list(again.user("root"), "sales_order").total == 4
    finally:
        again.close()
    out = subprocess.run([sys.executable, "-m", "engine.cli", "db", "restore", path,
                          "--database", fresh_url], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1
    assert "already holds" in out.stderr and "--force" in out.stderr
