"""The suite's own promise: PostgreSQL, when configured, is really there."""
import sqlalchemy as sa

from tests.conftest import PG_URL


def test_postgres_is_reachable_when_configured():
    if not PG_URL:  # a SQLite-only run (the README command alone): nothing to reach
        return
    engine = sa.create_engine(PG_URL)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select 1").scalar() == 1
    engine.dispose()
