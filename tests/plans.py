"""What the database plans for a statement the engine ran: tests that a filter reads an index."""
from __future__ import annotations

import contextlib

import sqlalchemy as sa


@contextlib.contextmanager
def statements(engine):
    """Every (sql, parameters) the engine sends while the block runs (a listener also sends
    the hot statements through SQLAlchemy, so none is missed)."""
    seen: list = []

    def listen(conn, cursor, sql, params, context, many):
        seen.append((sql, params))

    sa.event.listen(engine.db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(engine.db.engine, "before_cursor_execute", listen)


def plan(engine, sql: str, params) -> str:
    """The database's plan for one statement, as text (PostgreSQL told to avoid scans: an
    index that can serve the statement is then used, whatever the table's size)."""
    with engine.db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
            return "\n".join(str(r[-1]) for r in rows)
        with conn.begin():
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))


def index_on(engine, form: str, column: str) -> str:
    """The name of the index on `column` of `form`'s typed table."""
    return next(i.name for i in engine.typed[form].table.indexes
                if [c.name for c in i.columns] == [column])
