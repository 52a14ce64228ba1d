"""`loom check --against DB`: what a changed workflow does to the records in flight.

The database knows each record's step and the workflow version it started
under, and the event log knows which actions were taken from each step. A
record is stranded when its step is gone (error), when its step now has no
way out (error), when it holds open approval tasks in a step that no longer
has approvers (error), or when an action earlier versions offered from its
step is gone (warning: maybe intended). Approver roles with no users are
warnings: entering such a step would be refused.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..errors import Problem
from ..store import tables as t
from . import tasks
from .actions import BUILTINS
from .machines import RETURN, WITHDRAW

E_STEP_GONE = "LOOM-E090"
E_NO_WAY_OUT = "LOOM-E091"
E_TASKS_ORPHANED = "LOOM-E092"
W_ACTION_GONE = "LOOM-W093"
W_EMPTY_ROLE = "LOOM-W094"
SYSTEM_ACTIONS = {"create", "update", "enter", "escalate", RETURN, WITHDRAW, *BUILTINS}


def stranded_problems(flow) -> list[Problem]:
    out: list[Problem] = []
    with flow.db.read() as conn:
        for wf in flow.rt.defs.workflows.values():
            out += _workflow(flow, conn, wf)
            out += _empty_roles(flow, conn, wf)
    return out


def _where(wf, step=None):
    src = (step.source if step is not None else None) or wf.source
    return (src.file, src.line, src.col) if src else (f"workflows/{wf.id}.yaml", 1, 1)


def _workflow(flow, conn, wf) -> list[Problem]:
    out = []
    rows = conn.execute(sa.select(t.records.c.state, sa.func.count()).where(
        t.records.c.form == wf.form, t.records.c.deleted_at.is_(None)).group_by(t.records.c.state)).all()
    for state, count in sorted(rows, key=lambda r: str(r[0])):
        step = wf.step(state) if state else None
        if state is None:
            continue
        if step is None:
            out.append(Problem(*_where(wf), f"{count} {wf.form} record(s) are in step {state!r}, "
                               f"which workflow {wf.id} no longer has; they cannot move until "
                               "the step is restored or they are moved", E_STEP_GONE))
            continue
        open_tasks = conn.execute(sa.select(sa.func.count()).select_from(t.tasks).where(
            t.tasks.c.form == wf.form, t.tasks.c.step == state, t.tasks.c.kind == "approve",
            t.tasks.c.status.in_(tasks.ACTIVE))).scalar()
        if open_tasks and not step.is_approval:
            out.append(Problem(*_where(wf, step), f"{open_tasks} open approval task(s) in step "
                               f"{state!r}, which no longer has approvers; {count} record(s) "
                               "there cannot be decided", E_TASKS_ORPHANED))
        used = set(conn.execute(sa.select(t.events.c.action).distinct().where(
            t.events.c.form == wf.form, t.events.c.from_state == state)).scalars())
        if not step.actions and not step.final and used - SYSTEM_ACTIONS:
            out.append(Problem(*_where(wf, step), f"{count} {wf.form} record(s) wait in step "
                               f"{state!r}, which has no actions any more (it had "
                               f"{', '.join(sorted(used - SYSTEM_ACTIONS))})", E_NO_WAY_OUT))
            continue
        gone = sorted(used - SYSTEM_ACTIONS - set(step.actions))
        if gone:
            out.append(Problem(*_where(wf, step), f"{count} {wf.form} record(s) in step "
                               f"{state!r}: action(s) {', '.join(gone)} they could take before "
                               "are gone", W_ACTION_GONE, "warning"))
    return out


def _empty_roles(flow, conn, wf) -> list[Problem]:
    out = []
    for step in wf.steps.values():
        specs = [("approvers", step.approvers)]
        if step.on_overdue is not None:
            specs.append(("escalate_to", step.on_overdue.escalate_to))
        for what, spec in specs:
            if spec is not None and spec.role and not flow.users.with_role(spec.role, conn):
                out.append(Problem(*_where(wf, step), f"step {step.name!r}: {what} role "
                                   f"{spec.role!r} has no users; records entering the step "
                                   "would be refused", W_EMPTY_ROLE, "warning"))
    return out
