"""Actions that move a record (or vote on moving it): declared actions, approval decisions,
return (回退) and withdraw. Each has `check(run)` (raises, writes nothing) and `apply(run)`."""
from __future__ import annotations

import sqlalchemy as sa

from ..errors import ActionRefused, Conflict
from ..store import tables as t
from . import tasks
from .machines import RETURN, WITHDRAW
from .moves import transition
from .run import Run, check_by, condition_message, visited_steps

REJECT = "reject"


class Declared:
    """A declared action: by roles/owner, or (without `by`) whoever may edit the step."""

    def __init__(self, name: str, spec):
        self.name, self.spec = name, spec

    def check(self, run: Run) -> None:
        check_by(run, self.name, self.spec)
        self.dest = run.wf.fire(self.name, run.subject())
        if self.dest is None:
            raise ActionRefused(condition_message(self.name, self.spec), "condition_false")
        run.need_comment(self.name, self.spec.comment)

    def apply(self, run: Run):
        values = run.validate() if self.name != REJECT else dict(run.rec.data)
        return transition(run, self.name, self.dest, values)


class Decision:
    """approve (and any other decision) or reject in an approval step, by a task holder."""

    def __init__(self, name: str, spec):
        self.name, self.spec = name, spec

    def check(self, run: Run) -> None:
        run.no_self_approval()
        self.task = run.my_task()
        self.dest = run.wf.fire(self.name, run.subject())
        if self.dest is None:
            raise ActionRefused(condition_message(self.name, self.spec), "condition_false")
        run.need_comment(self.name, self.spec.comment)

    def apply(self, run: Run):
        rejecting = self.name == REJECT
        values = dict(run.rec.data) if rejecting else run.validate()
        task = self.task
        if not tasks.set_status(run.conn, task.id, from_status=tasks.OPEN, to_status=tasks.DONE,
                                now=run.now, decision=self.name, comment=run.comment):
            raise Conflict("another approver decided this task first; reload the record")
        complete = rejecting
        waiting_for = None
        if not rejecting:
            nxt = [x for x in run.current() if x.block == task.block and x.status == tasks.WAITING
                   and x.position > task.position]
            if nxt:
                tasks.set_status(run.conn, nxt[0].id, from_status=tasks.WAITING,
                                 to_status=tasks.OPEN, now=run.now)
                waiting_for = nxt[0].assignee
                if run.step.mode == "any":  # the first decision wins: other chains close
                    for x in run.current():
                        if x.block != task.block and x.status in tasks.ACTIVE:
                            tasks.set_status(run.conn, x.id, from_status=tasks.ACTIVE,
                                             to_status=tasks.CANCELLED, now=run.now)
            elif run.step.mode == "any":
                complete = True  # leaving the step closes every other task of it (transition)
            else:
                tasks.cancel_active(run.conn, run.rec.id, run.now, step=run.rec.state,
                                    block=task.block, keep=task.id)
                remaining = run.conn.execute(sa.select(sa.func.count()).select_from(t.tasks).where(
                    t.tasks.c.record_id == run.rec.id, t.tasks.c.step == run.rec.state,
                    t.tasks.c.visit == run.visit, t.tasks.c.kind == "approve",
                    t.tasks.c.status.in_(tasks.ACTIVE))).scalar()
                complete = remaining == 0
        if complete:
            return transition(run, self.name, self.dest, values, task_id=task.id)
        run.event(self.name, task_id=task.id,
                  detail={"waiting_for": waiting_for} if waiting_for else {"mode": run.step.mode})
        return run.rec


class Return:
    """回退: back to a step the record passed through; the declared `to` is the default."""

    name = RETURN

    def __init__(self, spec=None):
        self.spec = spec

    def check(self, run: Run) -> None:
        if run.step.is_approval and not (self.spec and self.spec.by):
            run.no_self_approval()
            self.task = run.my_task()
        elif self.spec is not None:
            check_by(run, RETURN, self.spec)
            self.task = None
        else:
            raise ActionRefused(f"return is not an action of step {run.rec.state}", "not_in_step")
        visited, previous = visited_steps(run)
        self.targets = [s for s in visited if s != run.rec.state and s in run.spec.steps]
        default = (self.spec.branches[0].to if self.spec and self.spec.branches else None) \
            or previous
        target = run.to or default
        if target not in run.spec.steps:
            raise ActionRefused(f"there is no step {target!r} to return to", "unknown_step")
        if target not in self.targets:
            raise ActionRefused(f"the record never passed through step {target!r}; it can return "
                                f"to {', '.join(self.targets) or 'no step'}", "not_visited")
        self.dest = run.wf.fire(RETURN, run.subject(target=target))
        if self.dest is None:  # pragma: no cover - the machine has every return edge
            raise ActionRefused(f"cannot return to {target}", "not_available")
        run.need_comment("return", self.spec.comment if self.spec else "optional")

    def apply(self, run: Run):
        task_id = None
        if self.task is not None:
            if not tasks.set_status(run.conn, self.task.id, from_status=tasks.OPEN,
                                    to_status=tasks.DONE, now=run.now, decision=RETURN,
                                    comment=run.comment):
                raise Conflict("another approver decided this task first; reload the record")
            task_id = self.task.id
        return transition(run, RETURN, self.dest, dict(run.rec.data), task_id=task_id)


class Withdraw:
    """The owner pulls the record back to `start` until someone decided in this step."""

    name = WITHDRAW

    def check(self, run: Run) -> None:
        if run.rec.owner != run.user.name:
            raise ActionRefused("only the record's owner may withdraw it", "not_owner")
        if run.rec.state == run.spec.start:
            raise ActionRefused(f"the record is already in {run.spec.start}", "not_in_step")
        if not run.step.is_approval:
            raise ActionRefused(f"withdraw is possible while the record awaits approval, not in "
                                f"step {run.rec.state}", "not_in_step")
        decided = [x for x in run.current() if x.status == tasks.DONE]
        if decided:
            raise ActionRefused(f"{decided[0].assignee} already decided in step {run.rec.state}; "
                                "it can no longer be withdrawn", "already_decided")
        self.dest = run.wf.fire(WITHDRAW, run.subject())
        if self.dest is None:  # pragma: no cover
            raise ActionRefused("cannot withdraw from this step", "not_available")

    def apply(self, run: Run):
        return transition(run, WITHDRAW, self.dest, dict(run.rec.data))
