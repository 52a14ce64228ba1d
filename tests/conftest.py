"""Shared fixtures: every store-backed test runs on SQLite and, when
LOOM_TEST_DATABASE_URL is set, on PostgreSQL too (never skipped: an
unreachable PostgreSQL fails the run)."""
from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

FIXTURES = Path(__file__).parent / "fixtures"
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


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'loom.db'}"
        return
    schema = PgSchema()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def clock():
    from engine.clock import FrozenClock

    return FrozenClock(datetime(2026, 3, 2, 9, 0, 0))


def make_engine(definitions, database_url, clock):
    from engine.engine import Engine

    return Engine(str(definitions), database_url, clock=clock)


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
