"""One action by one user on one record: the `Run` every action checks and applies against.

A Run is built inside the caller's transaction; it reads the step's tasks
once and remembers them, and writes history through the RecordWriter it is
handed (`flow.writer`), never by itself.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

import sqlalchemy as sa

from ..errors import ActionRefused, Conflict, ValidationFailed
from ..store import tables as t
from ..store.hot import Hot
from . import tasks
from .machines import Subject


class Run:
    """One action by one user on one record, inside one write (or read) transaction."""

    def __init__(self, flow, conn, user, rec, comment: str | None = None, to: Any = None,
                 data: dict | None = None):
        self.flow, self.conn, self.user, self.rec = flow, conn, user, rec
        self.data = dict(data or {})  # fields the actor fills while acting
        self.data_used = False
        # a form without a workflow still has the record actions (reassign): no spec, no step
        self.wf = flow.rt.machines.get(rec.form)
        self.spec = self.wf.spec if self.wf is not None else None
        self.step = self.spec.step(rec.state) if self.spec is not None else None
        if self.spec is not None and self.step is None:
            raise ActionRefused(f"the record is in step {rec.state!r}, which workflow "
                                f"{self.spec.id} no longer has; an administrator must move it",
                                "step_removed")
        self.comment = (comment or "").strip() or None
        self.to = to
        self._tasks = None
        self._visit = None
        self._current = None

    @cached_property
    def now(self):
        """The action's time, read once (a check that needs none reads no clock)."""
        return self.flow.clock.now()

    def _seen(self) -> list:
        """The step's tasks and mine on the record, read once: what every check asks of tasks."""
        if self._tasks is None:
            self._tasks = tasks.of_step_and_user(self.conn, self.rec.id, self.rec.state,
                                                 self.user.name)
        return self._tasks

    @property
    def visit(self) -> int:
        """The step's last visit (0 before its first task)."""
        if self._visit is None:
            step = self.rec.state
            self._visit = max((x.visit for x in self._seen() if x.step == step), default=0)
        return self._visit

    def current(self) -> list:
        """The approve tasks of the current step visit, by position."""
        if self._current is None:
            step, visit = self.rec.state, self.visit
            self._current = sorted((x for x in self._seen() if x.step == step and x.visit == visit
                                    and x.kind == "approve"), key=lambda x: (x.position, x.id))
        return self._current

    def copied_in(self) -> bool:
        """Was I copied in on the record (a cc task, any step)?"""
        me = self.user.name
        return any(x.assignee == me and x.kind == "cc" for x in self._seen())

    def open_besides(self, decided: int | None) -> bool:
        """Might the step hold open or waiting tasks other than `decided` (closed by this action)?

        True unless this run has read the step's tasks (under the record's lock, so no one
        else changed them) and saw none: then leaving the step needs no cancelling UPDATE.
        Earlier visits hold none: leaving a step always closed its tasks."""
        if self._current is None or not self.step.is_approval:
            return True
        return any(x.status in tasks.ACTIVE and x.id != decided for x in self._current)

    def my_task(self):
        """My open task in this step visit; Conflict when mine was closed meanwhile."""
        mine = [x for x in self.current() if x.assignee == self.user.name]
        for x in mine:
            if x.status == tasks.OPEN:
                return x
        if any(x.status == tasks.WAITING for x in mine):
            raise ActionRefused(f"your task in step {self.rec.state} waits for the signer added "
                                "before you", "task_waiting")
        if mine:
            last = mine[-1]
            what = {"done": f"already decided ({last.decision})", "cancelled":
                    "closed: another approver decided first", "transferred": "transferred"}
            raise Conflict(f"your task in step {self.rec.state} was "
                           f"{what.get(last.status, last.status)}; reload the record")
        self.overtaken((tasks.CANCELLED, tasks.DONE))
        names = sorted({x.assignee for x in self.current() if x.status in tasks.ACTIVE})
        raise ActionRefused(f"you have no open task in step {self.rec.state}"
                            + (f"; it waits for {', '.join(names)}" if names else ""),
                            "not_assignee")

    def overtaken(self, statuses=(tasks.CANCELLED,)) -> None:
        """Conflict when my latest task on the record was closed under me (someone decided first)."""
        me = self.user.name
        last = next((x for x in reversed(self._seen()) if x.assignee == me and x.kind == "approve"),
                    None)
        if last is not None and last.status in statuses:
            raise Conflict(f"your task in step {last.step} was closed (another approver decided "
                           f"first); the record is now in {self.rec.state}; reload it")

    def subject(self, target: str | None = None) -> Subject:
        values = []  # the record's values, made when an `if` first asks (a plain move asks none)

        def evaluate(fn):
            if not values:
                values.append(self.rec.values())
            return self.flow.reader.eval(fn, values[0], self.user, self.conn)
        return Subject(self.rec.state, evaluate, target=target)

    def no_self_approval(self) -> None:
        if self.rec.owner == self.user.name and not self.step.allow_self_approval:
            raise ActionRefused(f"you own this record; step {self.rec.state} does not allow "
                                "approving your own records", "self_approval")

    def need_comment(self, action_name: str, rule: str) -> None:
        if rule == "required" and not self.comment:
            raise ValidationFailed({"comment": f"a comment is required to {action_name}"},
                                   f"{action_name} needs a comment")

    def validate(self) -> dict:
        """The record as it stands, with the fields the actor fills (`data`, only those the
        step lets them change), must pass its form's rules."""
        runtime = self.flow.rt.forms[self.rec.form]
        self.data_used = True
        if self.data:
            changed = runtime.changes(self.data, self.rec.data, self.user)
            self.flow.reader.access.check_write(self.user, self.rec.form, changed, self.rec)
        return runtime.prepare(self.data, user=self.user, existing=self.rec.data,
                               services=self.flow.reader.services(self.conn, self.user),
                               system=True)

    def event(self, action: str, task_id=None, detail=None) -> None:
        """A history event that leaves the record as it is (comment, transfer, a vote)."""
        self.flow.writer.event(self.conn, self.rec, self.user.name, action, self.now,
                               comment=self.comment, task_id=task_id, detail=detail)

    def other_user(self, name: Any, what: str) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ValidationFailed({"to": f"name the user to {what}"})
        name = name.strip()
        if not self.flow.users.exists(name, self.conn):
            raise ActionRefused(f"there is no active user {name!r} to {what}", "unknown_user")
        if name == self.user.name:
            raise ActionRefused(f"you cannot {what} yourself", "same_user")
        return name


# --- checks every kind of action shares -------------------------------------------


def check_by(run: Run, name: str, spec) -> None:
    who = spec.by or (run.step.edit or ("owner",))
    if not any((w == "owner" and run.rec.owner == run.user.name) or w in run.user.roles
               for w in who):
        raise ActionRefused(f"{name} in step {run.rec.state} is for {', '.join(who)}; you are "
                            "not one of them", "not_allowed")


def assignable(run: Run, name: str) -> None:
    if name == run.rec.owner and not run.step.allow_self_approval:
        raise ActionRefused(f"{name} owns the record and may not approve it in step "
                            f"{run.rec.state}", "self_approval")
    if any(x.assignee == name and x.status in tasks.ACTIVE for x in run.current()):
        raise ActionRefused(f"{name} already has a task in step {run.rec.state}",
                            "already_assignee")


def due(step, now):
    return now + step.due if step.due else None


def condition_message(name: str, spec) -> str:
    conds = [b.if_.source for b in spec.branches if b.if_ is not None]
    return f"{name} is not available now: {' / '.join(conds)} does not hold" if conds else \
        f"{name} is not available now"


_MOVES = Hot(sa.select(t.events.c.from_state, t.events.c.to_state).where(
    t.events.c.record_id == sa.bindparam("b_record_id")).order_by(t.events.c.id))


def visited_steps(run: Run) -> tuple[list[str], str | None]:
    """Steps the record entered, in the order it first did, and the step it last came into
    its current one from (None when it never moved into it); one read of its history."""
    seen, previous, state = [run.spec.start], None, run.rec.state
    for came_from, to in _MOVES.all(run.conn, {"b_record_id": run.rec.id}):
        if to and to not in seen:
            seen.append(to)
        if to == state and came_from is not None and came_from != state:
            previous = came_from
    return seen, previous
