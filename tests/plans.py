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


def _grows(table: str, tables: tuple) -> bool:
    # typed tables are t_FORM; SQLite's plan names them by their alias in lists, r_FORM
    return table in tables or table.startswith(("t_", "r_"))


def full_scans(engine, sql: str, params,
               tables: tuple = ("records", "events", "tasks", "notifications")) -> list[str]:
    """The tables among `tables` (and every typed table, `t_*`: the data that grows with the
    business) that the plan reads whole — a scan, or an index walked end to end without a
    condition on it — where an index could serve a condition."""
    text = plan(engine, sql, params)
    out = []
    if engine.db.engine.dialect.name == "sqlite":
        for line in text.splitlines():
            parts = line.split()
            if parts[:1] == ["SCAN"] and len(parts) > 1 and _grows(parts[1], tables):
                out.append(parts[1])
        return out
    lines = text.splitlines()
    for i, line in enumerate(lines):
        node = line.strip().lstrip("->").strip()
        if not (node.startswith(("Seq Scan on", "Index Scan", "Index Only Scan"))):
            continue
        words = node.split(" on ", 1)[1].split() if " on " in node else []
        table = words[0] if words else ""
        if not _grows(table, tables):
            continue
        if node.startswith("Seq Scan"):
            out.append(table)
            continue
        # an index scan's own lines follow, indented deeper, until the next node
        depth = len(line) - len(line.lstrip())
        own = []
        for nxt in lines[i + 1:]:
            if nxt.strip().startswith("->") or len(nxt) - len(nxt.lstrip()) <= depth:
                break
            own.append(nxt.strip())
        if not any(o.startswith("Index Cond:") for o in own):
            out.append(table)
    return out
