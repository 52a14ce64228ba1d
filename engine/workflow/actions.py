"""Actions on a record in its current step: declared actions, approval decisions, built-ins.

Each action is a small class with `check(run)` (raises ActionRefused,
Conflict or ValidationFailed: nothing written yet) and `apply(run)` (writes,
inside the caller's transaction, and returns the record afterwards).
`available_actions` runs the same `check`s, so what the UI offers and what
the server accepts cannot drift apart.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..errors import ActionRefused, Conflict, ValidationFailed
from ..store import tables as t
from . import approvers, tasks
from .machines import RETURN, WITHDRAW, Subject
from .step_actions import StepContext, holds

BUILTINS = ("transfer", "add_signer", "comment", "cc", "withdraw")
REJECT = "reject"


class Run:
    """One action by one user on one record, inside one write (or read) transaction."""

    def __init__(self, engine, conn, user, rec, comment: str | None = None, to: Any = None):
        self.engine, self.conn, self.user, self.rec = engine, conn, user, rec
        self.now = engine.clock.now()
        self.wf = engine._wf_compiled(rec.form)
        self.spec = self.wf.spec
        self.step = self.spec.step(rec.state)
        if self.step is None:
            raise ActionRefused(f"the record is in step {rec.state!r}, which workflow "
                                f"{self.spec.id} no longer has; an administrator must move it",
                                "step_removed")
        self.comment = (comment or "").strip() or None
        self.to = to
        self._visit = None
        self._current = None

    @property
    def visit(self) -> int:
        if self._visit is None:
            self._visit = tasks.last_visit(self.conn, self.rec.id, self.rec.state)
        return self._visit

    def current(self) -> list:
        """The approve tasks of the current step visit."""
        if self._current is None:
            self._current = tasks.current(self.conn, self.rec.id, self.rec.state, self.visit)
        return self._current

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
        last = self.conn.execute(sa.select(t.tasks.c.step, t.tasks.c.status).where(
            t.tasks.c.record_id == self.rec.id, t.tasks.c.assignee == self.user.name,
            t.tasks.c.kind == "approve").order_by(t.tasks.c.id.desc()).limit(1)).first()
        if last is not None and last.status in statuses:
            raise Conflict(f"your task in step {last.step} was closed (another approver decided "
                           f"first); the record is now in {self.rec.state}; reload it")

    def subject(self, target: str | None = None) -> Subject:
        values = self.rec.values()
        return Subject(self.rec.state,
                       lambda fn: self.engine._eval(fn, values, self.user, self.conn),
                       target=target)

    def no_self_approval(self) -> None:
        if self.rec.owner == self.user.name and not self.step.allow_self_approval:
            raise ActionRefused(f"you own this record; step {self.rec.state} does not allow "
                                "approving your own records", "self_approval")

    def need_comment(self, action_name: str, rule: str) -> None:
        if rule == "required" and not self.comment:
            raise ValidationFailed({"comment": f"a comment is required to {action_name}"},
                                   f"{action_name} needs a comment")

    def validate(self) -> dict:
        """The record as it stands must pass its form's rules."""
        from ..engine import Services

        runtime = self.engine.runtimes[self.rec.form]
        return runtime.prepare({}, user=self.user, existing=self.rec.data,
                               services=Services(self.engine, self.conn, self.user), system=True)

    def event(self, action: str, to_state: str | None = None, task_id=None, detail=None,
              diff=None, version=None) -> None:
        self.engine.repo.append_event(
            self.conn, record_id=self.rec.id, form=self.rec.form, at=self.now,
            actor=self.user.name, action=action, from_state=self.rec.state,
            to_state=to_state or self.rec.state, comment=self.comment, task_id=task_id,
            version=version or self.rec.version, diff=diff, detail=detail or None)

    def other_user(self, name: Any, what: str) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ValidationFailed({"to": f"name the user to {what}"})
        name = name.strip()
        if not self.engine.users.exists(name, self.conn):
            raise ActionRefused(f"there is no active user {name!r} to {what}", "unknown_user")
        if name == self.user.name:
            raise ActionRefused(f"you cannot {what} yourself", "same_user")
        return name


# --- the actions ------------------------------------------------------------------


class Declared:
    """A declared action: by roles/owner, or (without `by`) whoever may edit the step."""

    def __init__(self, name: str, spec):
        self.name, self.spec = name, spec

    def check(self, run: Run) -> None:
        _check_by(run, self.name, self.spec)
        self.dest = run.wf.fire(self.name, run.subject())
        if self.dest is None:
            raise ActionRefused(_condition_message(self.name, self.spec), "condition_false")
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
            raise ActionRefused(_condition_message(self.name, self.spec), "condition_false")
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
            else:
                tasks.cancel_active(run.conn, run.rec.id, run.now, step=run.rec.state,
                                    block=task.block, keep=task.id)
                if run.step.mode == "any":
                    complete = True
                else:
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
            _check_by(run, RETURN, self.spec)
            self.task = None
        else:
            raise ActionRefused(f"return is not an action of step {run.rec.state}", "not_in_step")
        visited = visited_steps(run)
        self.targets = [s for s in visited if s != run.rec.state and s in run.spec.steps]
        default = (self.spec.branches[0].to if self.spec and self.spec.branches else None) \
            or previous_step(run)
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


class Transfer:
    """转交: hand my open task to another user."""

    name = "transfer"

    def check(self, run: Run) -> None:
        self.task = run.my_task()
        self.target = run.other_user(run.to, "transfer to")
        _assignable(run, self.target)

    def apply(self, run: Run):
        if not tasks.set_status(run.conn, self.task.id, from_status=tasks.OPEN,
                                to_status=tasks.TRANSFERRED, now=run.now, comment=run.comment):
            raise Conflict("your task was closed meanwhile; reload the record")
        made = create_task(run.engine, run.conn, run.rec, run.step, self.target, run.now,
                           visit=self.task.visit, position=self.task.position,
                           due_at=self.task.due_at, transferred_from=run.user.name)
        run.event("transfer", task_id=self.task.id,
                  detail={"from": run.user.name, "to": self.target, "tasks": [made]})
        return run.rec


class AddSigner:
    """加签: another approver in this step, before me (they decide first) or after me."""

    name = "add_signer"

    def check(self, run: Run) -> None:
        self.task = run.my_task()
        where, who = "after", run.to
        if isinstance(who, dict):
            where, who = who.get("position", who.get("where", "after")), who.get("user")
        elif isinstance(who, str) and ":" in who:
            where, who = who.split(":", 1)
        if where not in ("before", "after"):
            raise ValidationFailed({"to": "add a signer before or after you"})
        self.where = where
        self.target = run.other_user(who, "add as signer")
        _assignable(run, self.target)

    def apply(self, run: Run):
        block = [x for x in run.current() if x.block == self.task.block]
        if self.where == "before":
            pos, status = min(x.position for x in block) - 1, tasks.OPEN
            tasks.set_status(run.conn, self.task.id, from_status=tasks.OPEN, to_status=tasks.WAITING,
                             now=run.now)
        else:
            pos, status = max(x.position for x in block) + 1, tasks.WAITING
        made = create_task(run.engine, run.conn, run.rec, run.step, self.target, run.now,
                           visit=self.task.visit, position=pos, status=status,
                           due_at=_due(run.step, run.now))
        run.event("add_signer", task_id=self.task.id,
                  detail={"signer": self.target, "where": self.where, "tasks": [made]})
        return run.rec


class Comment:
    name = "comment"

    def check(self, run: Run) -> None:
        if not run.comment:
            raise ValidationFailed({"comment": "write the comment"}, "comment needs a text")

    def apply(self, run: Run):
        run.event("comment")
        return run.rec


class Cc:
    """抄送: copy someone in, read-only (a cc task gives read access, a notification tells them)."""

    name = "cc"

    def check(self, run: Run) -> None:
        involved = run.rec.owner == run.user.name or any(
            x.assignee == run.user.name and x.status == tasks.OPEN for x in run.current())
        if not involved:
            raise ActionRefused("only the owner or a current approver may copy someone in",
                                "not_allowed")
        self.target = run.other_user(run.to, "copy in")

    def apply(self, run: Run):
        tasks.insert(run.conn, record_id=run.rec.id, form=run.rec.form, step=run.rec.state,
                     visit=max(run.visit, 1), assignee=self.target, now=run.now, kind="cc",
                     status=tasks.DONE, decision="cc", comment=run.comment)
        run.conn.execute(t.notifications.insert().values(
            user_name=self.target, created_at=run.now,
            subject=f"{run.user.name} copied you in on {run.rec.number or run.rec.id}",
            body=run.comment, form=run.rec.form, record_id=run.rec.id, source="workflow:cc"))
        run.event("cc", detail={"to": self.target})
        return run.rec


BUILTIN_CLASSES = {"transfer": Transfer, "add_signer": AddSigner, "comment": Comment, "cc": Cc,
                   "withdraw": Withdraw}


def handler(run: Run, name: str):
    """The action object for `name` in the record's current step, or ActionRefused."""
    step = run.step
    if name in BUILTIN_CLASSES:
        if name in ("transfer", "add_signer") and not step.is_approval:
            raise ActionRefused(f"{name} is for approvers; step {run.rec.state} has none",
                                "not_in_step")
        return BUILTIN_CLASSES[name]()
    if name == RETURN and (step.is_approval or RETURN in step.actions):
        return Return(step.actions.get(RETURN))
    spec = step.actions.get(name)
    if spec is None:
        run.overtaken()
        elsewhere = [s for s, st in run.spec.steps.items() if name in st.actions]
        hint = f"; it belongs to step {', '.join(elsewhere)}" if elsewhere else ""
        raise ActionRefused(f"{name} is not an action of step {run.rec.state}{hint}",
                            "not_in_step")
    if step.is_approval and not spec.by:
        return Decision(name, spec)
    return Declared(name, spec)


def candidates(run: Run) -> list[str]:
    names = list(run.step.actions)
    if run.step.is_approval and RETURN not in names:
        names.append(RETURN)
    return names + list(BUILTINS)


# --- moving between steps ---------------------------------------------------------


def transition(run: Run, action: str, dest: str, values: dict, task_id=None):
    """Leave the current step, enter `dest` (on-enter actions, tasks), write the record once."""
    engine, rec = run.engine, run.rec
    tasks.cancel_active(run.conn, rec.id, run.now, step=rec.state)
    values, detail = enter(engine, run.conn, run.user, rec, dest, values, run.now)
    after = write(engine, run.conn, run.user, rec, dest, values, run.now)
    runtime = engine.runtimes[rec.form]
    diff = runtime.diff(rec.data, values)
    engine.repo.append_event(run.conn, record_id=rec.id, form=rec.form, at=run.now,
                             actor=run.user.name, action=action, from_state=rec.state,
                             to_state=dest, comment=run.comment, task_id=task_id,
                             version=after.version, diff=diff or None, detail=detail or None)
    announce(engine, run.conn, run.user, rec, after, dest)
    return after


def announce(engine, conn, user, before, after, dest: str) -> None:
    from ..engine import Change

    engine._emit(Change("update", after.form, user, before, after, dest, conn))
    engine._emit(Change("enter", after.form, user, before, after, dest, conn))


def write(engine, conn, user, rec, state: str, values: dict, now):
    runtime = engine.runtimes[rec.form]
    current = {"id": rec.id, "form": rec.form, "number": rec.number, "state": rec.state,
               "version": rec.version, "owner": rec.owner, "created_at": rec.created_at,
               "updated_at": rec.updated_at, "definition_version": rec.definition_version,
               "data": rec.json_data}
    row = engine.repo.update(conn, current, data=runtime.dump(values), values=values, state=state,
                             now=now, expected_version=None,
                             changed=runtime.diff(rec.data, values).keys())
    return engine._record(row)


def enter(engine, conn, user, rec, dest: str, values: dict, now) -> tuple[dict, dict]:
    """Run `dest`'s on-enter actions and open its approval tasks; return values and what happened."""
    wf = engine._wf_compiled(rec.form)
    step = wf.spec.step(dest)
    detail: dict = {}
    if step.on_enter:
        ctx = StepContext(engine, conn, user, rec, dest, values, now)
        for act in step.on_enter:
            fn = engine.registries.actions.get(act.kind)
            if fn is None:
                raise ActionRefused(f"step {dest}: there is no on_enter action {act.kind!r} "
                                    "(a plugin missing?)", "unknown_step_action")
            if not holds(ctx, act.if_):
                ctx.effects.append({"skipped": act.kind})
                continue
            fn(ctx, act.args)
        values = ctx.values
        detail["on_enter"] = ctx.effects
    if step.is_approval:
        visit = tasks.last_visit(conn, rec.id, dest) + 1
        scope = {**values, "owner": rec.owner}
        res = approvers.resolve(engine.users, conn, step.approvers, scope, rec.owner)
        approvers.exclude_owner(res, rec.owner, step.allow_self_approval)
        if not res.names:
            why = "; ".join(f"{k} {v}" for k, v in res.skipped.items())
            raise ActionRefused(f"step {dest} has nobody to approve: {res.tried} resolves to no "
                                f"active user{' (' + why + ')' if why else ''}; the record stays "
                                f"in {rec.state}", "no_approvers")
        made = []
        for i, name in enumerate(res.names):
            made.append(create_task(engine, conn, rec, step, name, now, visit=visit,
                                    position=i * tasks.BLOCK + tasks.MID, due_at=_due(step, now),
                                    taken=[m["assignee"] for m in made]))
        detail["tasks"] = [m for m in made if m]
    return values, detail


def create_task(engine, conn, rec, step, name: str, now, *, visit: int, position: int,
                due_at=None, status: str = tasks.OPEN, transferred_from: str | None = None,
                escalated: bool = False, taken=()) -> dict:
    """One approve task for `name`, or for their delegate when they are away today."""
    assignee, delegated_from = name, None
    deputy = approvers.delegate(engine.users, conn, name, now.date())
    if deputy and deputy not in taken and (deputy != rec.owner or step.allow_self_approval):
        assignee, delegated_from = deputy, name
    tid = tasks.insert(conn, record_id=rec.id, form=rec.form, step=step.name, visit=visit,
                       assignee=assignee, now=now, status=status, position=position,
                       due_at=due_at, delegated_from=delegated_from,
                       transferred_from=transferred_from, escalated=escalated)
    out = {"id": tid, "assignee": assignee}
    if delegated_from:
        out["delegated_from"] = delegated_from
    if transferred_from:
        out["transferred_from"] = transferred_from
    return out


# --- helpers ------------------------------------------------------------------------


def _check_by(run: Run, name: str, spec) -> None:
    who = spec.by or (run.step.edit or ("owner",))
    if not any((w == "owner" and run.rec.owner == run.user.name) or w in run.user.roles
               for w in who):
        raise ActionRefused(f"{name} in step {run.rec.state} is for {', '.join(who)}; you are "
                            "not one of them", "not_allowed")


def _assignable(run: Run, name: str) -> None:
    if name == run.rec.owner and not run.step.allow_self_approval:
        raise ActionRefused(f"{name} owns the record and may not approve it in step "
                            f"{run.rec.state}", "self_approval")
    if any(x.assignee == name and x.status in tasks.ACTIVE for x in run.current()):
        raise ActionRefused(f"{name} already has a task in step {run.rec.state}",
                            "already_assignee")


def _due(step, now):
    return now + step.due if step.due else None


def _condition_message(name: str, spec) -> str:
    conds = [b.if_.source for b in spec.branches if b.if_ is not None]
    return f"{name} is not available now: {' / '.join(conds)} does not hold" if conds else \
        f"{name} is not available now"


def visited_steps(run: Run) -> list[str]:
    """Steps the record entered, in the order it first did."""
    rows = run.conn.execute(sa.select(t.events.c.to_state).where(
        t.events.c.record_id == run.rec.id).order_by(t.events.c.id)).scalars()
    seen = [run.spec.start]
    for s in rows:
        if s and s not in seen:
            seen.append(s)
    return seen


def previous_step(run: Run) -> str | None:
    row = run.conn.execute(sa.select(t.events.c.from_state).where(
        t.events.c.record_id == run.rec.id, t.events.c.to_state == run.rec.state,
        t.events.c.from_state != run.rec.state).order_by(t.events.c.id.desc()).limit(1)).scalar()
    return row


def announce_enter(engine, conn, user, rec) -> None:
    from ..engine import Change

    engine._emit(Change("enter", rec.form, user, None, rec, rec.state, conn))
