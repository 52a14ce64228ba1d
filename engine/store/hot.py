"""Hot statements: fixed statements of every action run straight on the DBAPI cursor.

An approval runs about nine fixed statements (the record's UPDATE, its typed
row, its event, the task's UPDATE and INSERT...). Through `Connection.execute`
each costs ~45 µs of Python (execution context, events, result wrapping) where
the DBAPI cursor needs ~8 µs. A `Hot` statement is still built and compiled by
SQLAlchemy, once per dialect and set of parameter names: the same SQL text and
the same bind processors (datetimes, JSON, booleans) — only the per-call
machinery is skipped. It runs on the connection's own DBAPI connection, so in
the caller's transaction; driver errors come back as SQLAlchemy's exceptions.

A statement SQLAlchemy must finish at execute time (Python-side column
defaults, expanding IN lists) goes through `Connection.execute` as before, and
so does every statement while someone listens to the engine's statements
(`before_cursor_execute` beyond Loom's own): a listener sees them all.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

_ENGINE_QUIET: dict[int, int] = {}  # id(engine) -> number of Loom's own cursor listeners


def register_quiet(engine: sa.Engine) -> None:
    """Remember how many cursor listeners `engine` has of Loom's own (more = someone spies)."""
    _ENGINE_QUIET[id(engine)] = len(engine.dispatch.before_cursor_execute)


class _Plan:
    """What a compiled statement needs per call: its text and, per placeholder, where its
    value comes from (a parameter, or a value bound in the statement) and its processor."""

    __slots__ = ("sql", "slots", "positional", "result_proc")

    def __init__(self, comp, keys: tuple) -> None:
        self.sql = comp.string
        self.positional = comp.positional
        by_name = {name: bp for bp, name in comp.bind_names.items()}
        names = list(comp.positiontup) if comp.positional else list(by_name)
        escaped = getattr(comp, "escaped_bind_names", None) or {}
        procs = comp._bind_processors  # the processors SQLAlchemy itself would apply
        given = set(keys)
        self.slots = []
        for name in names:
            bp = by_name[name]
            key = bp.key if bp.key in given else name if name in given else None
            if key is None and bp.required:
                raise KeyError(name)
            fixed = None if key is not None else bp.effective_value
            self.slots.append((key, fixed, procs.get(name), escaped.get(name, name)))
        self.result_proc = None
        cols = getattr(comp, "_result_columns", None)
        if cols:
            self.result_proc = cols[0][3]._cached_result_processor(comp.dialect, None)

    def bind(self, params: Mapping[str, Any]):
        out = []
        for key, fixed, proc, _ in self.slots:
            value = params[key] if key is not None else fixed
            out.append(proc(value) if proc is not None else value)
        if self.positional:
            return tuple(out)
        return {slot[3]: v for slot, v in zip(self.slots, out)}


class Hot:
    """A fixed statement compiled once per dialect and parameter names, run on the cursor."""

    __slots__ = ("stmt", "_plans")

    def __init__(self, stmt) -> None:
        self.stmt = stmt
        self._plans: dict = {}

    def _plan(self, conn: sa.Connection, keys: tuple) -> _Plan | None:
        dialect = conn.dialect
        key = (id(dialect), keys)
        try:
            return self._plans[key]
        except KeyError:
            pass
        comp = self.stmt.compile(dialect=dialect, column_keys=list(keys))
        slow = (getattr(comp, "insert_prefetch", None) or getattr(comp, "update_prefetch", None)
                or getattr(comp, "post_compile_params", None)
                or getattr(comp, "literal_execute_params", None))
        plan = self._plans[key] = None if slow else _Plan(comp, keys)
        return plan

    def _run(self, conn: sa.Connection, params: Mapping[str, Any]):
        plan = self._plan(conn, tuple(params))
        if plan is None or _spied(conn):
            return None, None
        values = plan.bind(params)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(plan.sql, values)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise sa.exc.DBAPIError.instance(plan.sql, values, exc,
                                             conn.dialect.loaded_dbapi.Error,
                                             dialect=conn.dialect) from exc
        return plan, cursor

    def rowcount(self, conn: sa.Connection, params: Mapping[str, Any]) -> int:
        """Run an UPDATE or DELETE; the number of rows it matched."""
        plan, cursor = self._run(conn, params)
        if plan is None:
            return conn.execute(self.stmt, params).rowcount
        n = cursor.rowcount
        cursor.close()
        return n

    def scalar(self, conn: sa.Connection, params: Mapping[str, Any]):
        """Run a statement with one result column (an INSERT … RETURNING id); its first value."""
        plan, cursor = self._run(conn, params)
        if plan is None:
            return conn.execute(self.stmt, params).scalar()
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            return None
        value = row[0]
        return plan.result_proc(value) if plan.result_proc is not None else value

    def execute(self, conn: sa.Connection, params: Mapping[str, Any]) -> None:
        """Run a statement whose result is not needed (an INSERT)."""
        plan, cursor = self._run(conn, params)
        if plan is None:
            conn.execute(self.stmt, params)
            return
        cursor.close()


def _spied(conn: sa.Connection) -> bool:
    own = _ENGINE_QUIET.get(id(conn.engine))
    return own is None or len(conn.engine.dispatch.before_cursor_execute) > own
