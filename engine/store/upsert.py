"""INSERT … ON CONFLICT for the backends Loom runs on (SQLite and PostgreSQL spell it alike)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(dialect: str, table: sa.Table):
    """An INSERT on `table` that offers `on_conflict_do_update`/`_do_nothing` on `dialect`."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
