"""The suite's invariants fixture (tests/conftest.py) catches what it promises to."""
from __future__ import annotations


pytest_plugins = ["pytester"]

INNER = '''
import pytest
import sqlalchemy as sa

from tests.conftest import make_engine, VALID


@pytest.fixture
def eng(tmp_path, clock):
    e = make_engine(VALID, f"sqlite:///{tmp_path / 'x.db'}", clock)
    yield e
    e.close()


def queue(eng):
    with eng.db.write() as conn:
        eng.enqueue_notification(conn, channel="email", users=["ann"], subject="hi")


def test_open_transaction(eng):
    eng.add_user("ann", email="ann@example.com")
    conn = eng.db.engine.connect()
    conn.begin()
    conn.execute(sa.text("select 1"))


def test_pending_outbox(eng):
    eng.add_user("ann", email="ann@example.com")
    queue(eng)


@pytest.mark.outbox_ok
def test_pending_outbox_expected(eng):
    eng.add_user("ann", email="ann@example.com")
    queue(eng)


def test_clean(eng):
    eng.add_user("ann", email="ann@example.com")
'''


def test_invariants__fail_open_transactions_and_unexpected_outbox_rows(pytester):
    pytester.makeconftest("from tests.conftest import *  # noqa: F401,F403\n")
    pytester.makepyfile(test_inner=INNER)
    pytester.makeini("[pytest]\nmarkers =\n    outbox_ok: expected\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*test_open_transaction*", "*1 connection(s) still checked out*",
        "*test_pending_outbox*", "*undelivered outbox rows {'pending': 1}*"])
