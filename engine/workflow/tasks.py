"""Approval tasks in the `tasks` table: creation, decisions, the inbox.

Concurrency lives in the database: every status change is a conditional
UPDATE (`... WHERE status = 'open'`), so of two approvers deciding the same
task or step at once exactly one row changes and the other learns it lost.

Positions: the n-th approver of a step visit gets position n*BLOCK + MID.
Signers added before or after someone (加签) take positions just below or
above theirs in the same block; a block is one chain decided in order.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from operator import attrgetter
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..records import iso, stored_iso
from ..records.kept_texts import KeptTexts
from ..store import tables as t
from ..store.hot import Hot

BLOCK = 1000
MID = 500
OPEN, WAITING, DONE, CANCELLED, TRANSFERRED = "open", "waiting", "done", "cancelled", "transferred"
ACTIVE = (OPEN, WAITING)


@dataclass(frozen=True)
class Task:
    id: int
    record_id: int
    form: str
    step: str
    visit: int
    kind: str
    assignee: str
    status: str
    decision: str | None
    comment: str | None
    position: int
    delegated_from: str | None
    transferred_from: str | None
    escalated: bool
    created_at: datetime
    due_at: datetime | None
    reminded_at: datetime | None
    decided_at: datetime | None
    number: str | None = None  # the record's number and step, for the inbox
    state: str | None = None
    owner: str | None = None  # the record's owner and stored values, for the inbox's columns
    data: Any = None

    @property
    def block(self) -> int:
        return self.position // BLOCK

    def to_json(self) -> dict[str, Any]:
        # `data` stays out: the API reads records through their own endpoint and its field rules
        out = dict(zip(_JSON_FIELDS, _json_values(self)))
        for k in ("created_at", "due_at", "reminded_at", "decided_at"):
            out[k] = iso(out[k])
        return out


# to_json's keys and one getter for them all (an inbox page answers 100 tasks: a getattr
# per field and task was a fifth of the request)
_JSON_FIELDS = tuple(k for k in Task.__dataclass_fields__ if k != "data")
_json_values = attrgetter(*_JSON_FIELDS)


_COLS = [c for c in t.tasks.c]

# Hot statements built once: building a statement and its cache key costs more
# than running it. Status changes keep their conditions (`status IN (...)`).
_B = sa.bindparam
_INSERT = Hot(t.tasks.insert().returning(t.tasks.c.id))
# the first task of a step visit counts the visit in its own INSERT: the step's last visit
# plus one, read under the record's lock like any other read of its tasks
_PRIOR = t.tasks.alias("prior")
_INSERT_NEXT_VISIT = Hot(t.tasks.insert().values(visit=sa.select(
    sa.func.coalesce(sa.func.max(_PRIOR.c.visit), 0) + 1).where(
    _PRIOR.c.record_id == _B("b_record_id"), _PRIOR.c.step == _B("b_step")).scalar_subquery())
    .returning(t.tasks.c.id, t.tasks.c.visit))
_LAST_VISIT_Q = sa.select(sa.func.max(t.tasks.c.visit)).where(
    t.tasks.c.record_id == _B("b_record_id"), t.tasks.c.step == _B("b_step"))
_CURRENT_LAST = sa.select(t.tasks).where(
    t.tasks.c.record_id == _B("b_record_id"), t.tasks.c.step == _B("b_step"),
    t.tasks.c.visit == _LAST_VISIT_Q.scalar_subquery(), t.tasks.c.kind == "approve",
).order_by(t.tasks.c.position, t.tasks.c.id)
_GET = sa.select(t.tasks).where(t.tasks.c.id == _B("b_id"))
_CURRENT_LAST = Hot(_CURRENT_LAST)
_OF_STEP_AND_USER = Hot(sa.select(t.tasks).where(
    t.tasks.c.record_id == _B("b_record_id"),
    sa.or_(t.tasks.c.step == _B("b_step"), t.tasks.c.assignee == _B("b_assignee")),
).order_by(t.tasks.c.id))
_SET_STATUS: dict = {}
_CANCEL: dict = {}


def _set_status_stmt(n_froms: int, keys: tuple):
    key = (n_froms, keys)
    stmt = _SET_STATUS.get(key)
    if stmt is None:
        froms = [_B(f"b_from{i}") for i in range(n_froms)]
        stmt = _SET_STATUS[key] = Hot(t.tasks.update()
                                      .where(t.tasks.c.id == _B("b_id"), t.tasks.c.status.in_(froms))
                                      .values({k: _B(f"b_{k}") for k in keys}))
    return stmt


def _cancel_stmt(step: bool, block: bool, keep: bool):
    key = (step, block, keep)
    q = _CANCEL.get(key)
    if q is None:
        # the statuses as plain binds, not an expanding IN: the statement stays fixed (hot)
        q = t.tasks.update().where(t.tasks.c.record_id == _B("b_record_id"),
                                   t.tasks.c.status.in_([sa.literal(s) for s in ACTIVE]),
                                   t.tasks.c.kind == "approve")
        if step:
            q = q.where(t.tasks.c.step == _B("b_step"))
        if block:
            q = q.where(t.tasks.c.position >= _B("b_low"), t.tasks.c.position < _B("b_high"))
        if keep:
            q = q.where(t.tasks.c.id != _B("b_keep"))
        q = _CANCEL[key] = Hot(q.values(status=CANCELLED, decided_at=_B("b_now")))
    return q


_N = len(_COLS)
# Task's fields are the table's columns in table order: rows map by position (an inbox page
# makes 100 of them; a dict per row by column name cost a third of the request)
if tuple(c.name for c in _COLS) != tuple(Task.__dataclass_fields__)[:_N]:  # pragma: no cover
    raise RuntimeError("Task's fields must follow the tasks table's columns, in order")


def _task(row) -> Task:
    if len(row) > _N:  # the inbox: the record's number, step, owner and values follow
        extra = list(row[_N:]) + [None] * 4
        return Task(*row[:_N], number=extra[0], state=extra[1], owner=extra[2], data=extra[3])
    return Task(*row)


def insert(conn, *, record_id: int, form: str, step: str, visit: int | None, assignee: str,
           now: datetime, status: str = OPEN, kind: str = "approve", position: int = MID,
           due_at=None, delegated_from: str | None = None, transferred_from: str | None = None,
           escalated: bool = False, decision: str | None = None,
           comment: str | None = None) -> tuple[int, int]:
    """One task row; its id and visit. `visit` None: the step's next visit, counted by the
    INSERT itself (the first task of a visit; the others are given the visit it answered)."""
    params = {
        "record_id": record_id, "form": form, "step": step, "kind": kind,
        "assignee": assignee, "status": status, "position": position, "due_at": due_at,
        "delegated_from": delegated_from, "transferred_from": transferred_from,
        "escalated": escalated, "created_at": now, "decision": decision, "comment": comment,
        "decided_at": now if status == DONE else None,
    }
    if visit is not None:
        params["visit"] = visit
        return _INSERT.scalar(conn, params), visit
    params["b_record_id"], params["b_step"] = record_id, step
    tid, visit = _INSERT_NEXT_VISIT.all(conn, params)[0]
    return tid, visit


def current(conn, record_id: int, step: str) -> list[Task]:
    """The approve tasks of the step's current visit (any status), by position: one
    statement, the last visit a subquery."""
    rows = _CURRENT_LAST.all(conn, {"b_record_id": record_id, "b_step": step})
    return [_task(r) for r in rows]


def of_step_and_user(conn, record_id: int, step: str, assignee: str) -> list[Task]:
    """Every task of the record in `step` (all visits, all kinds) and every task `assignee`
    holds or held on it, oldest first: all an action's checks ask of tasks, in one statement
    (a GET of a record asks them for ~10 actions; on the DBAPI cursor)."""
    rows = _OF_STEP_AND_USER.all(conn, {"b_record_id": record_id, "b_step": step,
                                        "b_assignee": assignee})
    return [_task(r) for r in rows]


def get(conn, task_id: int) -> Task | None:
    row = conn.execute(_GET, {"b_id": task_id}).first()
    return _task(row) if row else None


def set_status(conn, task_id: int, *, from_status: str | tuple, to_status: str, now: datetime,
               decision: str | None = None, comment: str | None = None) -> bool:
    """Move one task between statuses; False when it was no longer in `from_status`."""
    froms = (from_status,) if isinstance(from_status, str) else tuple(from_status)
    values: dict = {"status": to_status}
    if to_status in (DONE, CANCELLED, TRANSFERRED):
        values["decided_at"] = now
    if decision is not None:
        values["decision"] = decision
    if comment is not None:
        values["comment"] = comment
    params = {f"b_{k}": v for k, v in values.items()}
    params["b_id"] = task_id
    for i, f in enumerate(froms):
        params[f"b_from{i}"] = f
    return _set_status_stmt(len(froms), tuple(values)).rowcount(conn, params) == 1


def cancel_active(conn, record_id: int, now: datetime, step: str | None = None,
                  block: int | None = None, keep: int | None = None) -> int:
    """Cancel the open and waiting approve tasks of a record (of a step, of a block)."""
    params = {"b_record_id": record_id, "b_now": now, "b_step": step, "b_keep": keep}
    if block is not None:
        params["b_low"], params["b_high"] = block * BLOCK, (block + 1) * BLOCK
    q = _cancel_stmt(step is not None, block is not None, keep is not None)
    return q.rowcount(conn, params)


SORTS = {  # how the inbox may sort; ties broken by id so pages never overlap
    "newest": (t.tasks.c.id.desc(),),
    "oldest": (t.tasks.c.id.asc(),),
    "due": (t.tasks.c.due_at.is_(None), t.tasks.c.due_at.asc(), t.tasks.c.id.asc()),
}


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox asks for: a status, optional filters, an order (a key of SORTS)."""

    status: str = OPEN
    form: str | None = None
    step: str | None = None
    created_before: datetime | None = None  # "older than": created before this moment
    due_before: datetime | None = None  # due (or overdue) by this moment
    sort: str = "newest"
    limit: int = 100
    offset: int = 0
    values: bool = True  # the records' values too (the HTML inbox's columns; the API sends none)


def inbox(conn, assignee: str, query: InboxQuery) -> list[Task]:
    """A user's tasks with their record's number, state, owner and (`query.values`) values:
    one query over ix_tasks_inbox (assignee, status, id), filters and order in SQL."""
    params = _params(assignee, query, b_limit=query.limit, b_offset=query.offset)
    return [_task(r) for r in _inbox_stmt(query).all(conn, params)]


def inbox_json(conn, assignee: str, query: InboxQuery) -> list[dict]:
    """`inbox` as `Task.to_json` answers it (no `data`), made from the driver's rows when it
    can: on SQLite a datetime's stored text becomes the API's text by slicing, where parsing
    it into a datetime and formatting that back cost a third of an inbox page."""
    rows, stored = _json_rows(conn, assignee, query)
    if not stored:
        return [_task(r).to_json() for r in rows]
    return [_json_item(row) for row in rows]


def inbox_rendered(conn, assignee: str, query: InboxQuery, render) -> list[str]:
    """`inbox_json`'s items each as `render(item)` gives it (the API's JSON text of a task). An
    item is a function of its row alone (the task's columns, its record's number, state and
    owner), so a row read again exactly as the driver gave it before gives the text `render`
    gave then: building and encoding the items was half of an inbox page's CPU. At most
    MAX_RENDERED rows kept; rows SQLAlchemy converted (PostgreSQL) are rendered each time."""
    rows, stored = _json_rows(conn, assignee, query)
    if not stored:
        return [render(_task(r).to_json()) for r in rows]
    kept = _RENDERED
    out = []
    for row in rows:
        key = (row, render)
        text = kept.get(key)
        out.append(text if text is not None else kept.keep(key, render(_json_item(row))))
    return out


MAX_RENDERED = 4096  # rendered task rows kept (~1 KB each); past it, start over
_RENDERED = KeptTexts(MAX_RENDERED)  # (driver row, render) -> its text (`inbox_rendered`)


def _json_rows(conn, assignee: str, query: InboxQuery) -> tuple[list, bool]:
    """The rows of `inbox_json`'s statement and whether the driver gave them as stored."""
    params = _params(assignee, query, b_limit=query.limit, b_offset=query.offset)
    return _inbox_stmt(replace(query, values=False)).driver_rows(conn, params)


def _json_item(row) -> dict:
    """A driver row of `inbox_json`'s statement as `Task.to_json` gives the task."""
    item = dict(zip(_JSON_FIELDS, row))
    item["escalated"] = bool(item["escalated"])
    for k in _JSON_DATETIMES:
        if (v := item[k]) is not None:  # most tasks are not yet due, reminded or decided
            item[k] = stored_iso(v)
    return item


_JSON_DATETIMES = ("created_at", "due_at", "reminded_at", "decided_at")


_INBOX: dict = {}


def _inbox_stmt(query: InboxQuery):
    """The inbox's statement for the filters `query` uses, its order and columns: built once
    per shape (building it cost a tenth of an inbox page), the values bound per call."""
    sort = query.sort if query.sort in SORTS else "newest"
    key = (*_shape(query), sort, query.values)
    q = _INBOX.get(key)
    if q is None:
        rc = t.records.c
        q = _INBOX[key] = Hot(_filtered(query, sa.select(t.tasks, rc.number, rc.state, rc.owner,
                                                         *([rc.data] if query.values else [])))
                              .order_by(*SORTS[sort]).limit(_B("b_limit", type_=sa.Integer))
                              .offset(_B("b_offset", type_=sa.Integer)))
    return q


def inbox_total(conn, assignee: str, query: InboxQuery, cap: int | None = None) -> int:
    """How many tasks `query`'s filters match, every page together; with `cap`, counting
    stops one past it (a page's total then costs the same however many tasks there are)."""
    # Putting a record in the trash cancels its open and waiting tasks in the same transaction,
    # and restoring it reopens them (records/writer.py, store/trash.py): tasks of those
    # statuses never belong to a trashed record, so their count needs no join to records
    # (a tenth of the cost; done and cancelled tasks of trashed records remain, so those join)
    live = query.status in ACTIVE
    key = (*_shape(query), cap is not None, live)
    q = _INBOX_TOTAL.get(key)
    if q is None:
        q = _filtered(query, sa.select(sa.literal(1)), with_records=not live)
        if cap is not None:
            q = q.limit(_B("b_cap", type_=sa.Integer))
        q = _INBOX_TOTAL[key] = Hot(sa.select(sa.func.count()).select_from(q.subquery()))
    return q.scalar(conn, _params(assignee, query, b_cap=None if cap is None else cap + 1))


_INBOX_TOTAL: dict = {}


def _params(assignee: str, query: InboxQuery, **more) -> dict:
    """The values the inbox's statements bind for `query` (each uses those its shape needs)."""
    return {"b_assignee": assignee, "b_status": query.status, "b_form": query.form,
            "b_step": query.step, "b_created_before": query.created_before,
            "b_due_before": query.due_before, **more}


def _shape(query: InboxQuery) -> tuple:
    """Which filters `query` uses: the statements differ by these, never by their values."""
    return (bool(query.form), bool(query.step), query.created_before is not None,
            query.due_before is not None)


def _filtered(query: InboxQuery, q, with_records: bool = True):
    """`q` over the user's tasks of a status joined to their records (not in the trash), with
    `query`'s filters; without `with_records`, the tasks alone."""
    tk = t.tasks.c
    if with_records:
        q = q.select_from(t.tasks.join(t.records, t.records.c.id == tk.record_id)) \
            .where(t.records.c.deleted_at.is_(None))  # a record in the trash leaves every inbox
    else:
        q = q.select_from(t.tasks)
    q = q.where(tk.assignee == _B("b_assignee"), tk.status == _B("b_status"))
    if query.form:
        q = q.where(tk.form == _B("b_form"))
    if query.step:
        q = q.where(tk.step == _B("b_step"))
    if query.created_before is not None:
        q = q.where(tk.created_at < _B("b_created_before"))
    if query.due_before is not None:
        q = q.where(tk.due_at.is_not(None), tk.due_at <= _B("b_due_before"))
    return q


_COUNT_OPEN = sa.select(sa.func.count()).select_from(t.tasks).where(
    t.tasks.c.assignee == _B("b_assignee"), t.tasks.c.status == OPEN)


def open_count(conn, assignee: str) -> int:
    """How many open tasks the user holds (the top bar's badge): an index-only count."""
    return conn.execute(_COUNT_OPEN, {"b_assignee": assignee}).scalar_one()


def held(conn, record_id: int, assignee: str, step: str, visit: int) -> Task | None:
    """The open approve task `assignee` holds in a step visit, if any."""
    row = conn.execute(sa.select(t.tasks).where(
        t.tasks.c.record_id == record_id, t.tasks.c.step == step, t.tasks.c.visit == visit,
        t.tasks.c.assignee == assignee, t.tasks.c.kind == "approve",
        t.tasks.c.status == OPEN).order_by(t.tasks.c.id).limit(1)).first()
    return _task(row) if row else None
