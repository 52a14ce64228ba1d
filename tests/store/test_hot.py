"""Hot statements (engine/store/hot.py) give what SQLAlchemy's path gives, and step aside for listeners.

An approval's fixed statements run on the DBAPI cursor; these tests hold the
hot path to SQLAlchemy's own answers (datetimes, JSON, booleans, None), to its
exceptions, and to its statement events: while anyone listens, every statement
goes through SQLAlchemy and is seen.
"""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.dialects.sqlite import pysqlite as sqlite_dialect

from engine.store import hot, repository
from engine.store import tables as t
from engine.store.hot import Hot
from engine.workflow import tasks
from tests.workflow.helpers import new_order, seed_catalog


@pytest.mark.outbox_ok  # the order's alerts may queue an email; delivery is not the point
def test_hot_reads_and_writes_answer_what_sqlalchemy_answers(engine, users):
    alice = users["alice"]
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, alice, customer, product, qty=2)
    engine.act(alice, "sales_order", order.id, "submit")
    with engine.db.write() as conn:
        params = {"b_id": order.id, "b_form": "sales_order"}
        hot = repository._FETCH.first_mapping(conn, params)
        slow = dict(conn.execute(repository._FETCH.stmt, params).mappings().first())
        assert hot == slow
        assert isinstance(hot["created_at"], datetime) and isinstance(hot["data"], dict)
        step = hot["state"]
        by = {"b_record_id": order.id, "b_step": step}
        hot_rows = tasks._CURRENT_LAST.all(conn, by)
        assert hot_rows and hot_rows == [tuple(r) for r in
                                         conn.execute(tasks._CURRENT_LAST.stmt, by)]
        assert isinstance(hot_rows[0][t.tasks.c.keys().index("escalated")], bool)
        # a value the caller leaves out of a hot INSERT is NULL, as through SQLAlchemy
        nid = Hot(t.notifications.insert().returning(t.notifications.c.id)).scalar(
            conn, {"user_name": "alice", "created_at": datetime(2026, 3, 2), "subject": "hi"})
        row = conn.execute(sa.select(t.notifications).where(t.notifications.c.id == nid)).one()
        assert (row.subject, row.created_at, row.body, row.read_at) == \
            ("hi", datetime(2026, 3, 2), None, None)
        conn.execute(t.notifications.delete().where(t.notifications.c.id == nid))


def test_a_failed_hot_statement_raises_sqlalchemys_error_and_writes_nothing(engine, users):
    customer, _ = seed_catalog(engine, users)
    typed = engine.typed["customer"]
    with pytest.raises(sa.exc.IntegrityError):
        with engine.db.write() as conn:
            row = conn.execute(sa.select(typed.table).where(typed.table.c._id == customer.id)) \
                .mappings().one()
            typed._insert.execute(conn, dict(row))  # the same _id twice
    with engine.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(typed.table)).scalar() == 1


@pytest.mark.outbox_ok
def test_while_someone_listens_every_statement_of_an_approval_is_seen(engine, users, monkeypatch):
    alice = users["alice"]
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, alice, customer, product)
    seen: list[str] = []

    def spy(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()[:3]).upper())

    sa.event.listen(engine.db.engine, "before_cursor_execute", spy)
    try:
        engine.act(alice, "sales_order", order.id, "submit")
    finally:
        sa.event.remove(engine.db.engine, "before_cursor_execute", spy)
    for hot in ("UPDATE RECORDS SET", "INSERT INTO EVENTS", "INSERT INTO TASKS"):
        assert hot in seen, seen
    if engine.db.is_sqlite:
        assert "BEGIN IMMEDIATE" in seen
    # nobody listening: the same writes skip SQLAlchemy's execute path
    through_sqlalchemy: list[str] = []
    real = sa.engine.Connection._execute_context

    def execute_context(self, dialect, constructor, statement, *args, **kw):
        through_sqlalchemy.append(" ".join(str(statement).split()[:3]).upper())
        return real(self, dialect, constructor, statement, *args, **kw)

    other = new_order(engine, alice, customer, product)
    monkeypatch.setattr(sa.engine.Connection, "_execute_context", execute_context)
    engine.act(alice, "sales_order", other.id, "submit")
    with engine.db.read() as conn:  # the spy sees what does go through SQLAlchemy
        conn.execute(sa.select(sa.literal(1)))
    monkeypatch.undo()
    assert any(s.startswith("SELECT") for s in through_sqlalchemy), through_sqlalchemy
    for hot in ("UPDATE RECORDS SET", "INSERT INTO EVENTS", "INSERT INTO TASKS", "BEGIN IMMEDIATE"):
        assert hot not in through_sqlalchemy, through_sqlalchemy


def test_hot_many_writes_what_sqlalchemys_executemany_writes(engine, users):
    """A bulk write's rows (records/bulk.py) through one cursor executemany: the same rows
    as SQLAlchemy's executemany, a datetime the rows share converted for each, and a
    duplicate refused with SQLAlchemy's error."""
    tr = t.alert_traces
    at = datetime(2026, 3, 2, 9, 30)
    rows = [{"alert": "a", "record_id": i, "at": at, "outcome": "condition_false",
             "detail": {"values": {"n": i}} if i % 2 else {}} for i in range(1, 6)]
    with engine.db.write() as conn:
        Hot(tr.insert()).many(conn, rows)
        conn.execute(tr.insert(), [{**r, "alert": "b"} for r in rows])
        got = {a: [(r.record_id, r.at, r.outcome, r.detail) for r in conn.execute(
            sa.select(tr).where(tr.c.alert == a).order_by(tr.c.record_id))] for a in "ab"}
    assert got["a"] == got["b"] and got["a"][1] == (2, at, "condition_false", {})
    typed = engine.typed["customer"]
    customer, _ = seed_catalog(engine, users)
    with pytest.raises(sa.exc.IntegrityError):
        with engine.db.write() as conn:
            row = dict(conn.execute(sa.select(typed.table).where(
                typed.table.c._id == customer.id)).mappings().one())
            typed._insert.many(conn, [{**row, "_id": customer.id + 1000}, row])
    with engine.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(typed.table)).scalar() == 1


def test_hot_datetimes_are_stored_as_sqlalchemy_stores_them(engine):
    """The stored text of every kind of datetime, written again and again through hot
    statements (which remember the last one converted), is SQLAlchemy's to the character."""
    tr = t.alert_traces
    moments = [datetime(2026, 3, 2, 9, 30), datetime(2026, 3, 2, 9, 30, 0, 7),
               datetime(1999, 12, 31, 23, 59, 59, 999999), datetime(2026, 3, 2, 9, 30)]
    hot = Hot(tr.insert())
    with engine.db.write() as conn:
        for i, at in enumerate(moments + moments[::-1]):
            hot.execute(conn, {"alert": "hot", "record_id": i, "at": at, "outcome": "x",
                               "detail": {}})
            conn.execute(tr.insert(), {"alert": "sa", "record_id": i, "at": at, "outcome": "x",
                                       "detail": {}})
        stored = {a: [(r.record_id, r.at) for r in conn.execute(
            sa.select(tr.c.record_id, sa.cast(tr.c.at, sa.Text).label("at"))
            .where(tr.c.alert == a).order_by(tr.c.record_id))] for a in ("hot", "sa")}
        read = [r.at for r in conn.execute(sa.select(tr.c.at).where(tr.c.alert == "hot")
                                           .order_by(tr.c.record_id))]
    assert stored["hot"] == stored["sa"]
    assert read == moments + moments[::-1]


@pytest.mark.parametrize("dialect", [sqlite_dialect.dialect(), psycopg_dialect.dialect()],
                         ids=["sqlite", "postgresql"])
def test_a_plans_generated_bind_gives_sqlalchemys_parameters(dialect):
    """`_Plan.bind` is an expression written per plan: it gives the driver what
    SQLAlchemy's own `construct_params` and bind processors give, for one placeholder
    (a one-value tuple), values bound in the statement (converted once), JSON, and keys
    and names that need quoting in the generated text."""
    n = t.notifications
    odd = "it's a \\ \"key\""
    stmts = [
        (n.update().where(n.c.id == sa.bindparam("b_id")).values(read_at=None), ["b_id"]),
        (n.update().where(n.c.id == sa.bindparam(odd))
         .values(created_at=datetime(2026, 3, 2, 9, 30, 0, 7), subject=sa.bindparam("b_s")),
         [odd, "b_s"]),
        (t.alert_traces.insert(), ["alert", "record_id", "at", "outcome", "detail"]),
    ]
    given = {"b_id": 7, odd: 8, "b_s": "hi", "alert": "a", "record_id": 3,
             "at": datetime(2026, 1, 2, 3, 4, 5, 6), "outcome": "x", "detail": {"n": [1, "é"]}}
    for stmt, keys in stmts:
        comp = stmt.compile(dialect=dialect, column_keys=keys)
        params = {k: given[k] for k in keys}
        plan = hot._Plan(comp, tuple(keys))
        raw = comp.construct_params(params)
        procs = comp._bind_processors
        done = {k: procs[k](v) if procs.get(k) is not None else v for k, v in raw.items()}
        escaped = getattr(comp, "escaped_bind_names", None) or {}  # keys of `done`
        want = tuple(done[escaped.get(k, k)] for k in comp.positiontup) if comp.positional \
            else done
        assert _plain(plan.bind(params)) == _plain(want)
        # again: the values fixed in the plan stay as they were
        assert _plain(plan.bind(params)) == _plain(want)


def _plain(values):
    """Driver values comparable by ==: psycopg's Jsonb wrapper by the object it wraps."""
    unwrap = lambda v: ("json", v.obj) if hasattr(v, "obj") else v  # noqa: E731
    if isinstance(values, dict):
        return {k: unwrap(v) for k, v in values.items()}
    return tuple(unwrap(v) for v in values)
