"""Shared fixtures: every store-backed test runs on SQLite and, when
LOOM_TEST_DATABASE_URL is set, on PostgreSQL too (never skipped: an
unreachable PostgreSQL fails the run).

Invariants (STYLE: "an autouse fixture fails a test that leaves an open
transaction or undelivered outbox rows it did not expect"): `invariants`
watches every SQLAlchemy engine that first connects during the test; when the
test body has passed, and before any fixture tears down, the test fails if
such an engine still has a connection checked out of its pool (an open
transaction, or a connection nobody closed) or if its `outbox` table holds
rows not `sent`. A test that leaves outbox rows on purpose says so with
`@pytest.mark.outbox_ok`.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
import weakref
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from engine.auth import passwords
from engine.store.database import kept_readers, kept_writers

# The suite hashes thousands of passwords (nine users per `engine` fixture, every login):
# at the production cost (N=2**14, ~40 ms a hash) the CI run took 15 min 06 s of pytest,
# with this 13 min 36 s (2026-11-27, same machine). A
# stored hash carries its own cost and verification reads it from there, so the code under
# test is the same; tests/auth/test_password_cost.py holds the production cost where it is,
# in a process this file never touched.
passwords.N = 2 ** 10


def _as_a_server_answers(open_):
    """The test client answers as a WSGI server does: each answer read whole and its iterable
    closed (PEP 3333), unless a test asks for the stream itself (`buffered=False`). An API
    read holds its read lane until its answer is closed (web/hot_routes.py `_LaneBody`); left
    open, the next read would wait out the lane."""
    def open(self, *args, buffered: bool = True, **kwargs):
        return open_(self, *args, buffered=buffered, **kwargs)
    return open


FlaskClient.open = _as_a_server_answers(FlaskClient.open)

FIXTURES = Path(__file__).parent / "fixtures"
ERP = Path(__file__).resolve().parents[1] / "definitions"  # the bundled app
VALID = FIXTURES / "valid"
PG_URL = os.environ.get("LOOM_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pg_schema_url(schema: str) -> str:
    url = sa.engine.make_url(PG_URL)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


class PgSchema:
    """A throw-away PostgreSQL schema, so tests never see each other's tables."""

    def __init__(self):
        self.name = "loom_t_" + uuid.uuid4().hex[:12]
        self.admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')
        self.url = pg_schema_url(self.name)

    def drop(self):
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        self.admin.dispose()


_SEEN: "weakref.WeakSet[sa.pool.Pool]" = weakref.WeakSet()  # pools of engines already watched
_watching: list | None = None  # the running test's engines, while `invariants` is active


@sa.event.listens_for(sa.engine.Engine, "engine_connect")
def _watch(conn) -> None:
    engine = conn.engine
    if engine.pool not in _SEEN:  # seen outside a test (a module fixture's): never watched
        _SEEN.add(engine.pool)
        if _watching is not None:
            _watching.append(weakref.ref(engine))


class Invariants:
    """What the running test's engines must look like when its body is done."""

    def __init__(self, outbox_ok: bool):
        self.outbox_ok = outbox_ok
        self.engines = []

    def problems(self) -> list[str]:
        out = []
        engines = [e for e in (ref() for ref in self.engines) if e is not None]
        for engine in engines:
            pool_out = getattr(engine.pool, "checkedout", None)
            if pool_out is None:
                continue

            def checked_out(engine=engine, pool_out=pool_out) -> int:
                return pool_out() - kept_writers(engine) - kept_readers(engine)  # kept on purpose

            if checked_out():
                _settle(checked_out)
            if checked_out():
                out.append(f"{engine.url!r}: {checked_out()} connection(s) still checked out "
                           "(an open transaction, or a connection never closed)")
        if not self.outbox_ok:
            for engine in engines:
                left = _undelivered(engine)
                if left:
                    out.append(f"{engine.url!r}: undelivered outbox rows {left} (deliver them, "
                               "or mark the test @pytest.mark.outbox_ok)")
        return out


def _settle(checked_out, seconds: float = 3.0) -> None:
    """Give a request still in flight when the test body ended (a browser page closed while
    its last fetch was being served) time to finish; a leaked connection stays out."""
    deadline = time.monotonic() + seconds
    while checked_out() and time.monotonic() < deadline:
        time.sleep(0.05)


def _undelivered(engine) -> dict:
    from engine.store import tables as t

    o = t.outbox
    try:
        with engine.connect() as conn:
            return {status: n for status, n in conn.execute(
                sa.select(o.c.status, sa.func.count()).where(o.c.status != "sent")
                .group_by(o.c.status))}
    except sa.exc.DBAPIError:
        return {}  # not a Loom store (no outbox table), or already gone


@pytest.fixture(autouse=True)
def invariants(request):
    """Watch the engines the test creates; checked by pytest_runtest_call below."""
    global _watching
    inv = Invariants(request.node.get_closest_marker("outbox_ok") is not None)
    _watching = inv.engines
    request.node.stash[_INVARIANTS] = inv
    try:
        yield inv
    finally:
        _watching = None


_INVARIANTS = pytest.StashKey[Invariants]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After a passing test body, before fixtures tear down (they close engines and drop
    schemas), check the invariants."""
    result = yield
    inv = item.stash.get(_INVARIANTS, None)
    if inv is not None:
        problems = inv.problems()
        if problems:
            pytest.fail("test left state behind:\n  " + "\n  ".join(problems), pytrace=False)
    return result


def throwaway_database(backend: str, path):
    """A fresh, empty database URL on `backend` (a SQLite file at `path`, or a PostgreSQL
    schema of its own); dropped when the generator closes."""
    if backend == "sqlite":
        yield f"sqlite:///{path}"
        return
    schema = PgSchema()
    try:
        yield schema.url
    finally:
        schema.drop()


@contextlib.contextmanager
def erp_engine(backend: str, path):
    """The bundled app on a throw-away database of `backend` (a SQLite file at `path`), its
    clock held at 2026-03-02 09:00: (engine, clock); closed and dropped after the block."""
    from engine.clock import FrozenClock

    with contextlib.contextmanager(throwaway_database)(backend, path) as url:
        clock = FrozenClock(datetime(2026, 3, 2, 9, 0, 0))
        eng = make_engine(ERP, url, clock)
        try:
            yield eng, clock
        finally:
            eng.close()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    yield from throwaway_database(request.param, tmp_path / "loom.db")


@pytest.fixture
def fresh_url(database_url, tmp_path):
    """A second, empty database on the same backend as `database_url` (a restore or an
    import target)."""
    yield from throwaway_database("sqlite" if database_url.startswith("sqlite") else "postgresql",
                                  tmp_path / "fresh.db")


@pytest.fixture
def clock():
    from engine.clock import FrozenClock

    return FrozenClock(datetime(2026, 3, 2, 9, 0, 0))


# Building an engine was a quarter of the suite's worker time (2026-11-27: 363 s of 1,412 s;
# the migrations 189 s, the typed tables' DDL 74 s, loading and checking the YAML 53 s).
# A tree's checked definitions are frozen, so one process loads each version once; a fresh
# SQLite file starts as a copy of one an Engine built for that tree (what the migrations
# and the typed tables' DDL would make of it). Engine() then finds the schema at head and
# the typed tables in step, and runs as on any restart. Fresh starts are still tested by
# every Engine built outside `make_engine`, and by each template.
_CHECKED: dict = {}
_TEMPLATES: dict = {}
_TEMPLATE_DIR: list = []


def make_engine(definitions, database_url, clock):
    """The engine of the tree at `definitions` over `database_url` (see above)."""
    from engine.bootstrap import default_registries
    from engine.definitions.catalog import load_definitions, tree_version
    from engine.engine import Engine

    root = str(definitions)
    key = (os.path.realpath(root), tree_version(root))
    defs = _CHECKED.get(key)
    if defs is None:
        defs = _CHECKED[key] = load_definitions(root, default_registries())
    path = sa.engine.make_url(database_url).database if database_url.startswith("sqlite") else None
    if path and path != ":memory:" and not os.path.exists(path):
        shutil.copyfile(_template(key, root, defs), path)
    return Engine(root, database_url, clock=clock, definitions=defs)


def _template(key, root: str, defs) -> str:
    """A SQLite file an Engine built for the tree `key` names, checkpointed, closed."""
    from engine.engine import Engine

    path = _TEMPLATES.get(key)
    if path is None:
        if not _TEMPLATE_DIR:
            _TEMPLATE_DIR.append(tempfile.mkdtemp(prefix="loom-templates-"))
            atexit.register(shutil.rmtree, _TEMPLATE_DIR[0], True)
        path = os.path.join(_TEMPLATE_DIR[0], f"{len(_TEMPLATES)}.db")
        Engine(root, f"sqlite:///{path}", definitions=defs).close()
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")  # one file to copy, no -wal beside it
        _TEMPLATES[key] = path
    return path


DEMO_USERS = {
    # name: (roles, manager)
    "gm": (["general_manager"], None),
    "sam": (["sales_manager"], "gm"),
    "sue": (["sales_manager"], "gm"),
    "alice": (["sales"], "sam"),
    "bob": (["sales"], "sam"),
    "fiona": (["finance"], "gm"),
    "walt": (["warehouse"], "gm"),
    "pat": (["purchasing"], "gm"),
    "root": (["admin"], None),
}


@pytest.fixture
def engine(database_url, clock):
    """An engine over the shared valid fixture app, with one user per role."""
    eng = make_engine(VALID, database_url, clock)
    for name, (roles, manager) in DEMO_USERS.items():
        eng.add_user(name, roles, manager=manager, email=f"{name}@example.com",
                     password=f"{name}-pass-123", is_admin=name == "root")
    yield eng
    eng.close()


@pytest.fixture
def users(engine):
    return {name: engine.user(name) for name in DEMO_USERS}
