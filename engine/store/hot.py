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

import time
from datetime import datetime
from typing import Any, Mapping

import sqlalchemy as sa

_ENGINE_QUIET: dict[int, int] = {}  # id(engine) -> how many of its cursor listeners are Loom's


def register_quiet(engine: sa.Engine) -> None:
    """Remember how many cursor listeners `engine` has of Loom's own (more = someone spies)."""
    _ENGINE_QUIET[id(engine)] = len(engine.dispatch.before_cursor_execute)


class _Plan:
    """What a compiled statement needs per call: its text and, per placeholder, where its
    value comes from (a parameter, or a value bound in the statement) and its processor."""

    __slots__ = ("sql", "slots", "positional", "result_proc", "columns", "bind", "convert_row")

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
            proc = procs.get(name)
            if proc is not None and comp.dialect.name == "sqlite" \
                    and type(bp.type) is sa.DateTime and not bp.type.timezone:
                proc = _sqlite_datetime(proc)
            self.slots.append((key, fixed, proc, escaped.get(name, name)))
        cols = getattr(comp, "_result_columns", None) or []
        self.columns = tuple(c[0] for c in cols)  # result keys, as SQLAlchemy names them
        procs = [c[3]._cached_result_processor(comp.dialect, None) for c in cols]
        self.result_proc = procs[0] if procs else None
        # a driver row, its values converted (None stays None): None when none needs it
        self.convert_row = _row_converter(procs) if any(procs) else None
        self.bind = _binder(self.slots, self.positional)


    def bind_many(self, rows: list[Mapping[str, Any]]) -> list:
        """`bind` for each row, a column at a time; a slot given the very same object as in
        the row before reuses its converted value (a batch's rows share their `now`,
        converted once)."""
        n = len(rows)
        columns = []
        for key, fixed, proc, _ in self.slots:
            if key is None:
                columns.append([proc(fixed) if proc is not None else fixed] * n)
                continue
            column = [params[key] for params in rows]
            if proc is not None:
                column = _converted(column, proc)
            columns.append(column)
        if self.positional:
            return list(zip(*columns))
        names = [slot[3] for slot in self.slots]
        return [dict(zip(names, values)) for values in zip(*columns)]


def _binder(slots: list, positional: bool):
    """`bind(params)` for these slots: the driver's values (a tuple, or a dict by name) of
    `params`, each converted by its slot's processor, fixed values in place.

    Written out as one expression per plan (`(_p1(params['at']), params['id'], _f2)`) rather
    than a loop over the slots: a hot statement binds ~9 times an action and the loop's
    per-slot unpacking and calls were half its cost. Keys go in as literals (`repr`); values
    and processors as the function's defaults, never as text."""
    names: dict[str, Any] = {}
    items = []
    for i, (key, fixed, proc, name) in enumerate(slots):
        if key is None:
            names[f"_f{i}"] = proc(fixed) if proc is not None else fixed
            value = f"_f{i}"
        else:
            value = f"params[{key!r}]"
            if proc is not None:
                names[f"_p{i}"] = proc
                value = f"_p{i}({value})"
        items.append(value if positional else f"{name!r}: {value}")
    body = f"({', '.join(items)}{',' if len(items) == 1 else ''})" if positional \
        else f"{{{', '.join(items)}}}"
    args = "".join(f", {n}={n}" for n in names)
    scope: dict[str, Any] = {}
    exec(f"def bind(params{args}):\n    return {body}\n", dict(names), scope)  # noqa: S102
    return scope["bind"]


def _row_converter(procs: list):
    """`convert(row)`: the row as a tuple, each value with a result processor converted
    (None stays None), the others as the driver gave them. Written out per plan, like
    `_binder`, rather than a loop zipping processors and values for every row."""
    names: dict[str, Any] = {}
    items = []
    for i, proc in enumerate(procs):
        if proc is None:
            items.append(f"row[{i}]")
        else:
            names[f"_p{i}"] = proc
            items.append(f"(None if row[{i}] is None else _p{i}(row[{i}]))")
    args = "".join(f", {n}={n}" for n in names)
    scope: dict[str, Any] = {}
    exec(f"def convert(row{args}):\n    return ({', '.join(items)},)\n",  # noqa: S102
         dict(names), scope)
    return scope["convert"]


def _converted(column: list, proc) -> list:
    out = []
    append = out.append
    seen, done = _NOTHING, None
    for value in column:
        if value is not seen:
            seen, done = value, proc(value)
        append(done)
    return out


_NOTHING = object()


_LAST_DATETIME = [(_NOTHING, None)]  # (value, text): shared, its text depends on it alone


def _sqlite_datetime(proc):
    """SQLite's DATETIME text for a naive datetime, as SQLAlchemy's `proc` writes it
    ('2026-01-02 03:04:05.000006') at a third of its cost, the last value remembered for
    every statement: an action binds its one `now` in several. Anything else: `proc`."""
    def convert(value):
        seen, text = _LAST_DATETIME[0]
        if value is seen:
            return text
        if type(value) is not datetime or value.tzinfo is not None:
            return proc(value)
        text = value.isoformat(" ", "microseconds")
        _LAST_DATETIME[0] = (value, text)  # one tuple: another thread sees a matching pair
        return text
    return convert


class Hot:
    """A fixed statement compiled once per dialect and parameter names, run on the cursor."""

    __slots__ = ("stmt", "_plans")

    def __init__(self, stmt) -> None:
        self.stmt = stmt
        self._plans: dict = {}

    def _plan(self, conn: sa.Connection, keys: tuple) -> _Plan | None:
        dialect = conn.dialect
        key = (id(dialect), keys)
        hit = self._plans.get(key)
        # the dialect itself is kept and compared: a freed dialect's id can come back as another
        # backend's (SQLite's `?` plan sent to PostgreSQL), so an id alone is no key
        if hit is not None and hit[0] is dialect:
            return hit[1]
        comp = self.stmt.compile(dialect=dialect, column_keys=list(keys))
        # rows whose values need converting are read on SQLite only: other drivers' result
        # processors may depend on the column types the server reports per result
        reads = getattr(comp, "_result_columns", None) and not comp.isinsert \
            and not comp.isupdate and not comp.isdelete
        slow = ((reads and dialect.name != "sqlite")
                or getattr(comp, "insert_prefetch", None) or getattr(comp, "update_prefetch", None)
                or getattr(comp, "post_compile_params", None)
                or getattr(comp, "literal_execute_params", None))
        plan = None if slow else _Plan(comp, keys)
        self._plans[key] = (dialect, plan)
        return plan

    def _run(self, conn: sa.Connection, params: Mapping[str, Any]):
        # runs ~9 times an action: the plan's lookup is inlined (`_plan` on a miss), the
        # pool's connection looked up once for its info and its driver connection
        dialect = conn.dialect
        keys = tuple(params)
        hit = self._plans.get((id(dialect), keys))
        plan = hit[1] if hit is not None and hit[0] is dialect else self._plan(conn, keys)
        if plan is None or _spied(conn):
            return None, None
        values = plan.bind(params)
        pooled = conn.connection
        _arm(pooled.info)  # a read is fenced as SQLAlchemy's own statements are (an inbox page)
        cursor = pooled.dbapi_connection.cursor()
        try:
            cursor.execute(plan.sql, values)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise _error(conn, plan.sql, values, exc) from exc
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
        if row is None or row[0] is None:
            return None
        value = row[0]
        return plan.result_proc(value) if plan.result_proc is not None else value

    def all(self, conn: sa.Connection, params: Mapping[str, Any]) -> list[tuple]:
        """Run a SELECT; its rows as tuples, values converted as SQLAlchemy converts them."""
        plan, rows = self._fetch_all(conn, params)
        convert = None if plan is None else plan.convert_row
        return rows if convert is None else [convert(r) for r in rows]

    def driver_rows(self, conn: sa.Connection, params: Mapping[str, Any]) -> tuple[list, bool]:
        """Run a SELECT; its rows as the driver returns them and True, or (where it must go
        through SQLAlchemy) its rows converted and False. For answers that turn stored text
        straight into the API's text (a datetime's string, never a datetime in between)."""
        plan, rows = self._fetch_all(conn, params)
        return rows, plan is not None

    def _fetch_all(self, conn: sa.Connection, params: Mapping[str, Any]) -> tuple[Any, list]:
        """Its plan and the rows as the driver gave them, or None and the rows SQLAlchemy
        converted (a statement that must go through SQLAlchemy)."""
        plan, cursor = self._run(conn, params)
        if plan is None:
            return None, [tuple(r) for r in conn.execute(self.stmt, params)]
        rows = cursor.fetchall()
        cursor.close()
        return plan, rows

    def first_mapping(self, conn: sa.Connection, params: Mapping[str, Any]) -> dict | None:
        """Run a SELECT; its first row as a dict by column name, or None."""
        plan, cursor = self._run(conn, params)
        if plan is None:
            row = conn.execute(self.stmt, params).mappings().first()
            return None if row is None else dict(row)
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            return None
        if plan.convert_row is not None:
            row = plan.convert_row(row)
        return dict(zip(plan.columns, row))

    def many(self, conn: sa.Connection, rows: list[Mapping[str, Any]]) -> None:
        """Run an INSERT (or UPDATE) for each of `rows` (all with the same keys) in one
        `executemany`; bulk writes (records/bulk.py) skip SQLAlchemy's per-row processing."""
        if not rows:
            return
        plan = self._plan(conn, tuple(rows[0]))
        if plan is None or _spied(conn):
            conn.execute(self.stmt, rows)
            return
        values = plan.bind_many(rows)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.executemany(plan.sql, values)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _error(conn, plan.sql, values[:1], exc) from exc
        finally:
            cursor.close()

    def execute(self, conn: sa.Connection, params: Mapping[str, Any]) -> None:
        """Run a statement whose result is not needed (an INSERT)."""
        plan, cursor = self._run(conn, params)
        if plan is None:
            conn.execute(self.stmt, params)
            return
        cursor.close()


class Bound:
    """A SELECT compiled once with every value it holds bound and converted, for statements
    built per caller and reused (a list page's, engine/records/listing.py): only the values
    named `names` (a LIMIT, an OFFSET) are given per call. Expanding IN lists are expanded
    now, with the values the statement holds. `of` answers None when the statement cannot be
    run this way (a value SQLAlchemy renders into the text at execute time)."""

    __slots__ = ("sql", "positional", "values", "slots")

    @classmethod
    def of(cls, stmt, dialect, names: tuple) -> "Bound | None":
        comp = stmt.compile(dialect=dialect)
        if getattr(comp, "literal_execute_params", None) or \
                getattr(comp, "insert_prefetch", None) or getattr(comp, "update_prefetch", None):
            return None
        params = comp.construct_params({n: None for n in names}, _check=False)
        sql, order = comp.string, list(comp.positiontup) if comp.positional else list(params)
        procs = dict(comp._bind_processors)  # the processors SQLAlchemy itself would apply
        if getattr(comp, "post_compile_params", None):
            expanded = comp._process_parameters_for_postcompile(params)
            sql, params = expanded.statement, expanded.parameters
            order = list(expanded.positiontup) if comp.positional else list(params)
            procs.update(expanded.processors)
        if not set(names) <= set(order):
            return None
        escaped = getattr(comp, "escaped_bind_names", None) or {}
        self = cls()
        self.sql, self.positional = sql, comp.positional
        values, slots = [], []
        for i, name in enumerate(order):
            proc = procs.get(name)
            if name in names:
                slots.append((name, i if comp.positional else escaped.get(name, name), proc))
                values.append(None)
            else:
                value = params[name]
                values.append(proc(value) if proc is not None else value)
        self.values = tuple(values) if comp.positional else \
            {escaped.get(n, n): v for n, v in zip(order, values)}
        self.slots = tuple(slots)
        return self

    def bind(self, given: Mapping[str, Any]):
        """The statement's values with `given` put in."""
        out = list(self.values) if self.positional else dict(self.values)
        for name, at, proc in self.slots:
            value = given[name]
            out[at] = proc(value) if proc is not None else value
        return tuple(out) if self.positional else out

    def rows(self, conn: sa.Connection, given: Mapping[str, Any]) -> list:
        """Run it on `conn`'s DBAPI cursor, fenced like any read (`arm_deadline`): the rows
        as the driver gives them (SQLite: JSON as text, date-times as text)."""
        values = self.bind(given)
        arm_deadline(conn)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, values)
            return cursor.fetchall()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _error(conn, self.sql, values, exc) from exc
        finally:
            cursor.close()


def arm_deadline(conn: sa.Connection) -> None:
    """Start the read statement fence's clock for the statement about to run on `conn`
    (SQLite: store/database.py's progress handler stops it past `loom_fence` seconds; other
    databases fence with their own `statement_timeout`, nothing to do)."""
    _arm(conn.info)


def _arm(info: dict) -> None:
    """`arm_deadline` given the connection's info (a hot statement has it in hand)."""
    state = info.get("loom_deadline")
    if state is not None:
        limit = info.get("loom_fence") or 0
        state[0] = time.monotonic() + limit if limit else 0.0
        state[1] = False


def run_sql(conn: sa.Connection, sql: str) -> None:
    """A statement without parameters or result (BEGIN, SAVEPOINT, RELEASE) on the DBAPI
    cursor; a driver error comes back as SQLAlchemy's exception."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _error(conn, sql, (), exc) from exc
    finally:
        cursor.close()


def _error(conn: sa.Connection, sql: str, params, exc: Exception) -> sa.exc.DBAPIError:
    """The driver's `exc` as SQLAlchemy would raise it ("database is locked" stays an
    OperationalError, a duplicate key an IntegrityError)."""
    return sa.exc.DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error,
                                      dialect=conn.dialect)


def hot_allowed(conn: sa.Connection) -> bool:
    """May a statement on `conn` skip SQLAlchemy (no one but Loom listens to its statements)?"""
    return not _spied(conn)


def _spied(conn: sa.Connection) -> bool:
    engine = conn.engine
    own = _ENGINE_QUIET.get(id(engine))
    return own is None or conn._has_events or len(engine.dispatch.before_cursor_execute) > own
