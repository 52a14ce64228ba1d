"""The API's list pages (`Engine.list(as_json=True)`): statements built once per asker.

A page of fifty records spent a third of its CPU building its SELECT and COUNT:
the scope, the row read rule compiled from its expression, SQLAlchemy's cache
key and compiled-cache lookup. What those statements say depends only on the
definitions (one `Pages` per runtime snapshot: a reload starts afresh), the
form, the filter, the sort, whether the total is capped and the asking user's
whole value (name, roles, manager, every attribute a rule or filter may read:
a `User` is frozen and compared field by field). So they are built once per
such key and kept compiled with every value bound (`hot.Bound`); a request
gives only its LIMIT, OFFSET and count cap, and the rows come straight from
the DBAPI cursor into the API's JSON shape.

Never kept:
- statements whose rule or filter read the clock (`today()`, `now()`): the
  moment is a bound value, so they are built for each request (`_Watch`);
- anything that raised (an unknown field, a field the user may not see);
- for a `User` that cannot be a dict key (built by hand with a set of roles).

Each request still opens its own read transaction and runs both statements:
what the user may read is decided by the database on every request, only the
SQL text is reused. While someone listens to the engine's statements
(`hot.hot_allowed`) the statements run through SQLAlchemy as any other.
"""
from __future__ import annotations

import json
from datetime import date, datetime


from ..store import tables as t
from ..store.hot import Bound, hot_allowed
from . import Page, stored_iso
from .kept_texts import KeptTexts

MAX_PLANS = 1024  # kept statements per snapshot; past it, start over
MAX_RENDERED = 4096  # rendered rows kept per snapshot (~1 KB each); past it, start over

_COLUMNS = tuple(t.records.c[name] for name in (
    "id", "form", "number", "state", "version", "owner", "data", "created_at", "updated_at"))


class _Watch:
    """The clock a page's statements are built with: it notes whether anything read it."""

    __slots__ = ("clock", "read")

    def __init__(self, clock):
        self.clock, self.read = clock, False

    def now(self) -> datetime:
        self.read = True
        return self.clock.now() if self.clock is not None else datetime.utcnow()

    def today(self) -> date:
        self.read = True
        return self.clock.today() if self.clock is not None else date.today()


class _Plan:
    """One asker's page statements: as SQLAlchemy statements and, when kept, compiled."""

    __slots__ = ("ids", "count", "capped", "hidden_own", "hidden_other", "bound_ids", "bound_count")

    def __init__(self, ids, count, capped: bool, hidden_own, hidden_other):
        self.ids, self.count, self.capped = ids, count, capped
        self.hidden_own, self.hidden_other = hidden_own, hidden_other
        self.bound_ids = self.bound_count = None


class Pages:
    """The list pages of one `RecordService` (one runtime snapshot)."""

    def __init__(self, service):
        self.service = service
        self._plans: dict = {}
        self._rendered = KeptTexts(MAX_RENDERED)  # (row, hidden fields, render) -> its text

    def page(self, user, form_id: str, filter: str | None, order: str | None, limit: int,
             offset: int, capped_total: bool, ahead: int) -> Page:
        """`RecordService.list(as_json=True)` without sums; `ahead`: how far past the page a
        capped total counts."""
        plan, rows, _, total, capped = self._fetch(user, form_id, filter, order, limit, offset,
                                                   capped_total, ahead)
        items = _items(rows, user.name, plan.hidden_own, plan.hidden_other)
        return Page(items, total, {}, total_capped=capped)

    def rendered(self, user, form_id: str, filter: str | None, order: str | None, limit: int,
                 offset: int, capped_total: bool, ahead: int, render) -> tuple[list[str], int, bool]:
        """`page` with each item given as `render(item)` (the API's JSON text of one record), and
        its total and whether that is capped. A row read exactly as it was read before (every
        column's stored text the same, the same fields hidden, the same `render`) gives the
        text it gave then: an item is a function of those alone, and parsing a row's stored
        values and encoding the item was half of a list page's CPU. Only rows as the driver
        gives them are kept (plain text and numbers; PostgreSQL's parsed values cannot be
        keys); at most MAX_RENDERED per snapshot."""
        plan, rows, driver, total, capped = self._fetch(user, form_id, filter, order, limit,
                                                        offset, capped_total, ahead)
        me, own, other = user.name, plan.hidden_own, plan.hidden_other
        kept = self._rendered
        out = []
        for row in rows:
            key = (row, own if row[5] == me else other, render) \
                if driver and type(row[6]) is str else None
            text = None if key is None else kept.get(key)
            if text is None:
                text = render(_items((row,), me, own, other)[0])
                if key is not None:
                    kept.keep(key, text)
            out.append(text)
        return out, total, capped

    def _fetch(self, user, form_id, filter, order, limit, offset, capped_total, ahead):
        """The page's plan, its rows, whether the driver gave them (not SQLAlchemy), its total
        as answered and whether that is capped."""
        key = (form_id, filter, order, capped_total, user)
        try:
            plan = self._plans.get(key)
        except TypeError:  # a user that cannot be a key: built for this request alone
            key = plan = None
        if plan is None:
            plan = self._plan(user, form_id, filter, order, capped_total, key is not None)
            if plan.bound_ids is not None:
                if len(self._plans) >= MAX_PLANS:
                    self._plans.clear()
                self._plans[key] = plan
        given = {"b_limit": limit, "b_offset": offset}
        cap = offset + limit + ahead if plan.capped else None
        counting = {} if cap is None else {"b_cap": cap + 1}
        db = self.service.db
        with db.read() as conn:
            driver = plan.bound_ids is not None and hot_allowed(conn)
            if driver:
                rows = plan.bound_ids.rows(conn, given)
                total = plan.bound_count.rows(conn, counting)[0][0]
            else:
                rows = conn.execute(plan.ids, given).all()
                total = conn.execute(plan.count, counting).scalar_one()
        capped = cap is not None and total > cap
        return plan, rows, driver, cap if capped else total, capped

    def _plan(self, user, form_id: str, filter, order, capped: bool, keep: bool) -> _Plan:
        svc = self.service
        watch = _Watch(svc.clock)
        ids, count, _ = svc.statements(user, form_id, filter, order, (), capped, watch, _COLUMNS)
        hidden = svc.reader.access.hidden
        plan = _Plan(ids, count, capped, hidden(user, form_id, user.name), hidden(user, form_id, None))
        if keep and not watch.read:
            dialect = svc.db.engine.dialect
            bound_ids = Bound.of(ids, dialect, ("b_limit", "b_offset"))
            bound_count = Bound.of(count, dialect, ("b_cap",) if capped else ())
            if bound_ids is not None and bound_count is not None:
                plan.bound_ids, plan.bound_count = bound_ids, bound_count
        return plan


def _loads(text: str):
    """`json.loads(text)` for a stored value: the decoder's C scanner called once for the
    text, without `loads`' and `decode`'s Python steps around it (a sixth of a list page's
    CPU for fifty rows). Text the scanner does not take whole (leading or trailing blanks,
    anything else) goes through `json.loads`, which then answers or raises as ever."""
    try:
        value, end = _scan(text, 0)
    except Exception:  # StopIteration at a blank or bad start; a malformed value
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


_scan = json.decoder.JSONDecoder().scan_once


def _items(rows, me: str, hidden_own, hidden_other) -> list[dict]:
    """The rows (`_COLUMNS`, as the driver or SQLAlchemy gives them) as `Record.to_json()`
    gives the record `user` may see: fields hidden from them left out."""
    loads = _loads
    out = []
    for rid, form, number, state, version, owner, data, created, updated in rows:
        if type(data) is str:
            data = loads(data)
        hidden = hidden_own if owner == me else hidden_other
        if hidden:
            data = {k: v for k, v in data.items() if k not in hidden}
        created_iso = stored_iso(created)  # a record never changed: the same moment twice
        out.append({"id": rid, "form": form, "number": number, "state": state, "version": version,
                    "owner": owner, "data": data, "created_at": created_iso,
                    "updated_at": created_iso if updated == created else stored_iso(updated)})
    return out


