"""Every statement a stretch of the demo's business runs — orders, approvals, deliveries,
invoices, payments, purchasing, stock moves, alerts, inbox reads — finds its rows by index:
none reads a table of business data whole. On PostgreSQL the planner is told to avoid scans,
so a scan in the plan means no index could serve the statement (a small table would
otherwise be scanned by choice); on SQLite, whose planner takes a usable index, the plan is
read as it is."""
from __future__ import annotations

import re

import pytest

from engine.cli import load_demo
from tests.conftest import BACKENDS, erp_engine
from tests.plans import full_scans, statements

pytestmark = pytest.mark.outbox_ok  # low-stock and credit alerts queue e-mails nobody delivers

# conditions no index serves: two columns of one row compared with each other
NO_INDEX_CAN = [re.compile(r"\.projected < \w+\.safety_stock")]


@pytest.fixture(scope="module", params=BACKENDS)
def ran(request, tmp_path_factory):
    """(engine, {sql: parameters}) of a month of demo business and each user's inbox."""
    with erp_engine(request.param, tmp_path_factory.mktemp("indexes") / "demo.db") as (eng, clock):
        with statements(eng) as seen:
            load_demo(eng.defs.app).seed(eng, clock, orders=40, customers=12, days=30)
            for name in ("sam", "alice", "walt", "fiona", "pat"):
                user = eng.user(name)
                eng.tasks(user)
                eng.notifications(user, unread_only=True)
        reads = {}
        for sql, params in seen:
            if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
                reads.setdefault(sql, params)
        yield eng, reads


def test_every_statement_of_the_business_finds_its_rows_by_index(ran):
    eng, reads = ran
    assert len(reads) > 50  # the month ran through every workflow
    whole = {}
    for sql, params in reads.items():
        if any(p.search(sql) for p in NO_INDEX_CAN):
            continue
        tables = full_scans(eng, sql, params)
        if tables:
            whole[" ".join(sql.split())[:400]] = tables
    assert not whole, whole
