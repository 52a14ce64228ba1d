"""Moving a record between steps: leave, run the destination's on-enter actions, open its
tasks, write the record once (one version, one history event)."""
from __future__ import annotations

import sqlalchemy as sa

from ..errors import ActionRefused
from ..store import tables as t
from ..store.hot import Hot
from . import approvers, news, tasks
from .run import due
from .step_actions import StepContext


def transition(run, action: str, dest: str, values: dict, task_id=None):
    """Leave the current step, enter `dest` (on-enter actions, tasks), write the record once."""
    flow, rec = run.flow, run.rec
    if run.open_besides(task_id):
        tasks.cancel_active(run.conn, rec.id, run.now, step=rec.state)
    values, detail = enter(flow, run.conn, run.user, rec, dest, values, run.now,
                           from_step=rec.state)
    after = flow.writer.update(run.conn, run.user, rec, values, run.now, state=dest, action=action,
                               comment=run.comment, task_id=task_id, detail=detail, entered=True)
    news.tell_owner(flow, run.conn, after, action, run.step, run.spec.step(dest), run.user.name,
                    run.comment)
    return after


def enter(flow, conn, user, rec, dest: str, values: dict, now, *,
          from_step: str | None = None) -> tuple[dict, dict]:
    """Run `dest`'s on-enter actions and open its approval tasks; return values and what happened.

    `from_step`: the step the record leaves (None when it is created); actions with
    `from` or `once` run only on the entries they belong to."""
    wf = flow.compiled(rec.form)
    step = wf.spec.step(dest)
    detail: dict = {}
    if step.on_enter:
        ctx = StepContext(flow.tools, conn, user, rec, dest, values, now)
        # asked only when an action has `once`: no query for steps that do not care
        first = (from_step is None or not entered_before(conn, rec.id, dest)) \
            if any(a.once for a in step.on_enter) else True
        for act in step.on_enter:
            if not act.runs_on(from_step, first):
                ctx.effects.append({"skipped": act.kind, "entry": "again" if act.once and not first
                                    else f"from {from_step}"})
                continue
            fn = flow.rt.registries.actions.get(act.kind)
            if fn is None:
                raise ActionRefused(f"step {dest}: there is no on_enter action {act.kind!r} "
                                    "(a plugin missing?)", "unknown_step_action")
            if not ctx.holds(act.if_):
                ctx.effects.append({"skipped": act.kind})
                continue
            fn(ctx, act.args)
        values = ctx.values
        detail["on_enter"] = ctx.effects
    if step.is_approval:
        scope = {**values, "owner": rec.owner}
        res = approvers.resolve(flow.users, conn, step.approvers, scope, rec.owner)
        approvers.exclude_owner(res, rec.owner, step.allow_self_approval)
        if not res.names:
            why = "; ".join(f"{k} {v}" for k, v in res.skipped.items())
            raise ActionRefused(f"step {dest} has nobody to approve: {res.tried} resolves to no "
                                f"active user{' (' + why + ')' if why else ''}; the record stays "
                                f"in {rec.state}", "no_approvers")
        made, visit = [], None  # the first task's INSERT counts the visit; the others join it
        for i, name in enumerate(res.names):
            task, visit = _open_task(flow, conn, rec, step, name, now, visit=visit,
                                     position=i * tasks.BLOCK + tasks.MID, due_at=due(step, now),
                                     taken=[m["assignee"] for m in made], actor=user.name)
            made.append(task)
        detail["tasks"] = [m for m in made if m]
    return values, detail


_ENTERED = Hot(sa.select(t.events.c.id).where(t.events.c.record_id == sa.bindparam("b_id"),
                                               t.events.c.to_state == sa.bindparam("b_step"))
               .limit(1))


def entered_before(conn, record_id: int, step: str) -> bool:
    """Whether the record has been in `step` before: any event of it that left it there."""
    return _ENTERED.scalar(conn, {"b_id": record_id, "b_step": step}) is not None


def create_task(flow, conn, rec, step, name: str, now, **kw) -> dict:
    """One approve task for `name` (`_open_task`'s keywords, `visit` given)."""
    return _open_task(flow, conn, rec, step, name, now, **kw)[0]


def _open_task(flow, conn, rec, step, name: str, now, *, visit: int | None, position: int,
               due_at=None, status: str = tasks.OPEN, transferred_from: str | None = None,
               escalated: bool = False, taken=(), why: str = "assigned",
               actor: str | None = None) -> tuple[dict, int]:
    """One approve task for `name`, or for their delegate when they are away today, and its
    visit (`visit` None: the step's next, counted by the task's INSERT); the assignee is
    told (`why`: assigned, transferred, added) by the channels they chose."""
    assignee, delegated_from = name, None
    deputy = approvers.delegate(flow.users, conn, name, now.date())
    if deputy and deputy not in taken and (deputy != rec.owner or step.allow_self_approval):
        assignee, delegated_from = deputy, name
    tid, visit = tasks.insert(conn, record_id=rec.id, form=rec.form, step=step.name,
                              visit=visit, assignee=assignee, now=now, status=status,
                              position=position, due_at=due_at, delegated_from=delegated_from,
                              transferred_from=transferred_from, escalated=escalated)
    news.tell_assignee(flow, conn, rec, step, assignee, why, actor)
    out = {"id": tid, "assignee": assignee}
    if delegated_from:
        out["delegated_from"] = delegated_from
    if transferred_from:
        out["transferred_from"] = transferred_from
    return out, visit
