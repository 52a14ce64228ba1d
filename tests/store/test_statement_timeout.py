"""The last fence behind the expression budgets: a read statement that runs too long is
stopped by the database and becomes a clean QueryTimeout (503), never a hang or a 500."""
from __future__ import annotations

import time

import pytest

from engine.errors import QueryTimeout
import engine.store.database as database
from engine.store.database import Database
from tests.conftest import VALID, make_engine
from tests.workflow.helpers import new_order, seed_catalog

ENDLESS = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
           "SELECT count(*) FROM n")


def test_a_read_running_past_the_statement_timeout__is_stopped_with_query_timeout(engine):
    engine.db.statement_timeout = 0.3
    start = time.monotonic()
    with pytest.raises(QueryTimeout) as info:
        with engine.db.read() as conn:
            conn.exec_driver_sql(ENDLESS).scalar()
    assert time.monotonic() - start < 5
    assert info.value.status == 503 and info.value.code == "query_timeout"
    assert info.value.message == ("the database query took longer than 0.3 seconds and was "
                                  "stopped; narrow the filter or the report's parameters")
    with engine.db.read() as conn:  # the connection is still good for the next request
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_writes_are_not_fenced__only_reads(engine):
    engine.db.statement_timeout = 0.01
    with engine.db.write() as conn:
        # long enough to cross the fence many times over, short enough to finish
        n = conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
            "SELECT count(*) FROM n").scalar()
    assert n == 300000


def test_the_timeout_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOM_STATEMENT_TIMEOUT", "2.5")
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert db.statement_timeout == 2.5
    finally:
        db.dispose()


def test_a_list_page_run_from_its_kept_statements__is_fenced_too(tmp_path, clock, monkeypatch):
    # the SQLite fence looks at the clock every _PROGRESS_STEPS instructions: few here, so a
    # page of 30 rows crosses a deadline already passed (PostgreSQL fences in the server)
    monkeypatch.setattr(database, "_PROGRESS_STEPS", 20)
    eng = make_engine(VALID, f"sqlite:///{tmp_path / 'f.db'}", clock)
    try:
        alice = eng.add_user("alice", ["sales"])
        for i in range(30):
            eng.create(alice, "customer", {"name": f"C{i}", "region": "north"})
        assert len(eng.list(alice, "customer", as_json=True).items) == 30  # built and kept
        eng.db.statement_timeout = 1e-9
        with pytest.raises(QueryTimeout):
            eng.list(alice, "customer", as_json=True)  # the kept statements, on the cursor
        eng.db.statement_timeout = 30
        assert len(eng.list(alice, "customer", as_json=True).items) == 30
    finally:
        eng.close()


def test_an_inbox_page_run_on_the_cursor__is_fenced_too(tmp_path, clock, monkeypatch):
    # the inbox's statements are hot (the DBAPI cursor, no SQLAlchemy listener to start the
    # fence's clock): they are stopped past the deadline all the same
    monkeypatch.setattr(database, "_PROGRESS_STEPS", 20)
    eng = make_engine(VALID, f"sqlite:///{tmp_path / 'i.db'}", clock)
    try:
        for name, roles, manager in (("gm", ["general_manager"], None),
                                     ("sam", ["sales_manager"], "gm"), ("alice", ["sales"], "sam")):
            eng.add_user(name, roles, manager=manager)
        alice, sam = eng.user("alice"), eng.user("sam")
        customer, product = seed_catalog(eng, {"alice": alice})
        for _ in range(30):
            rec = new_order(eng, alice, customer, product)
            eng.act(alice, "sales_order", rec.id, "submit")
        assert eng.task_page(sam, limit=10, as_json=True).total == 30
        eng.db.statement_timeout = 1e-9
        with pytest.raises(QueryTimeout):
            eng.task_page(sam, limit=10, as_json=True)
        eng.db.statement_timeout = 30
        assert len(eng.task_page(sam, limit=10, as_json=True).items) == 10
    finally:
        eng.close()
