"""SLAs: overdue approval tasks remind their assignee, then escalate (`loom worker` runs this).

Idempotent under concurrency: each task is handled in its own short
transaction; on PostgreSQL its row is taken with FOR UPDATE SKIP LOCKED (a
second worker skips it instead of waiting), and on every backend the change
itself is a conditional UPDATE (`reminded_at` still what we read,
`escalated` still false), so a reminder or an escalation happens once even
when two workers look at the same task.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..store import tables as t
from . import approvers, tasks
from .moves import create_task
from .news import tell_overdue

BATCH = 500


def run_sla(flow, now: datetime) -> dict:
    summary = {"reminded": 0, "escalated": 0, "escalation_tasks": 0, "problems": []}
    steps = {}
    for cw in flow.rt.machines.values():
        for step in cw.spec.steps.values():
            if step.due is not None:
                steps[(cw.spec.form, step.name)] = step
    if not steps:
        return summary
    with flow.db.read() as conn:
        due = conn.execute(sa.select(t.tasks.c.id, t.tasks.c.form, t.tasks.c.step).where(
            t.tasks.c.status == tasks.OPEN, t.tasks.c.due_at.is_not(None),
            t.tasks.c.due_at <= now).order_by(t.tasks.c.due_at).limit(BATCH)).all()
    for task_id, form, step_name in due:
        step = steps.get((form, step_name))
        if step is None:
            continue
        with flow.db.write() as conn:
            _one(flow, conn, task_id, step, now, summary)
    return summary


def _one(flow, conn, task_id: int, step, now: datetime, summary: dict) -> None:
    q = sa.select(t.tasks).where(t.tasks.c.id == task_id, t.tasks.c.status == tasks.OPEN)
    if flow.db.dialect == "postgresql":
        q = q.with_for_update(skip_locked=True)
    task = conn.execute(q).mappings().first()
    if task is None:
        return  # decided meanwhile, or another worker holds it
    overdue = step.on_overdue
    every = overdue.remind_every if overdue else None
    last = task["reminded_at"]
    if last is None or (every is not None and last + every <= now):
        cond = t.tasks.c.reminded_at.is_(None) if last is None else t.tasks.c.reminded_at == last
        if conn.execute(t.tasks.update().where(t.tasks.c.id == task_id, cond)
                        .values(reminded_at=now)).rowcount == 1:
            rec = flow.reader.record(flow.rt.repo.fetch(conn, task["form"], task["record_id"],
                                                         deleted=True))
            tell_overdue(flow, conn, rec, step, task["assignee"], "overdue", task["due_at"])
            summary["reminded"] += 1
    if overdue is None or overdue.escalate_to is None or task["escalated"]:
        return
    if now < task["due_at"] + (overdue.after or step.due * 0):
        return
    if conn.execute(t.tasks.update().where(t.tasks.c.id == task_id,
                                           t.tasks.c.escalated == sa.false())
                    .values(escalated=True)).rowcount != 1:
        return
    row = flow.rt.repo.fetch(conn, task["form"], task["record_id"], lock=True)
    if row["state"] != step.name:
        return
    rec = flow.reader.record(row)
    res = approvers.resolve(flow.users, conn, overdue.escalate_to, rec.data, rec.owner)
    approvers.exclude_owner(res, rec.owner, step.allow_self_approval)
    current = tasks.current(conn, rec.id, step.name)
    active = {x.assignee for x in current if x.status in tasks.ACTIVE and x.visit == task["visit"]}
    block = task["position"] // tasks.BLOCK
    top = max([x.position for x in current if x.position // tasks.BLOCK == block],
              default=task["position"])
    made = []
    for name in res.names:
        if name in active:
            continue
        top += 1
        made.append(create_task(flow, conn, rec, step, name, now, visit=task["visit"],
                                position=top, escalated=True, taken=active, why=None))
        tell_overdue(flow, conn, rec, step, made[-1]["assignee"], "escalated", task["due_at"])
    if not res.names:
        summary["problems"].append(f"task {task_id}: escalation to {res.tried} found nobody")
    flow.writer.event(conn, rec, "system", "escalate", now, task_id=task_id,
                      detail={"overdue": task["assignee"], "tasks": made})
    summary["escalated"] += 1
    summary["escalation_tasks"] += len(made)

