"""Built-in actions every approval step has without declaring them: transfer (转交),
add_signer (加签), comment and cc (抄送); and reassign, the record's own hand-over (转交 of
the record), which every record has. Each has `check(run)` and `apply(run)`."""
from __future__ import annotations

import sqlalchemy as sa

from ..errors import ActionRefused, Conflict, PermissionDenied, ValidationFailed
from ..store import audit
from ..store import tables as t
from . import news, tasks
from .moves import create_task
from .run import Run, assignable, due


class Transfer:
    """转交: hand my open task to another user."""

    name = "transfer"

    def check(self, run: Run) -> None:
        self.task = run.my_task()
        self.target = run.other_user(run.to, "transfer to")
        assignable(run, self.target)

    def apply(self, run: Run):
        if not tasks.set_status(run.conn, self.task.id, from_status=tasks.OPEN,
                                to_status=tasks.TRANSFERRED, now=run.now, comment=run.comment):
            raise Conflict("your task was closed meanwhile; reload the record")
        made = create_task(run.flow, run.conn, run.rec, run.step, self.target, run.now,
                           visit=self.task.visit, position=self.task.position,
                           due_at=self.task.due_at, transferred_from=run.user.name,
                           why="transferred", actor=run.user.name)
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
        assignable(run, self.target)

    def apply(self, run: Run):
        block = [x for x in run.current() if x.block == self.task.block]
        if self.where == "before":
            pos, status = min(x.position for x in block) - 1, tasks.OPEN
            tasks.set_status(run.conn, self.task.id, from_status=tasks.OPEN, to_status=tasks.WAITING,
                             now=run.now)
        else:
            pos, status = max(x.position for x in block) + 1, tasks.WAITING
        made = create_task(run.flow, run.conn, run.rec, run.step, self.target, run.now,
                           visit=self.task.visit, position=pos, status=status,
                           due_at=due(run.step, run.now), why="added", actor=run.user.name)
        run.event("add_signer", task_id=self.task.id,
                  detail={"signer": self.target, "where": self.where, "tasks": [made]})
        return run.rec


class Comment:
    """A remark in the record's history: the step's approvers, the owner and whoever was
    copied in may comment (DESIGN); any other reader may only read."""

    name = "comment"

    def check(self, run: Run) -> None:
        me = run.user.name
        if not (run.user.is_admin or run.rec.owner == me
                or any(x.assignee == me for x in run.current()) or run.copied_in()):
            raise PermissionDenied("only the step's approvers, the owner and users copied in "
                                   "may comment on this record")
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
        news.tell_copied(run.flow, run.conn, run.rec, self.target, run.user.name, run.comment)
        run.event("cc", detail={"to": self.target})
        return run.rec


class Reassign:
    """转交 of the record: hand it to a new owner, with or without a workflow. Allowed to the
    owner, the owner's manager, the form's `permissions.reassign` roles and admins. The
    form's `owner_field` (a user field) follows the owner; the old owner's open tasks on
    the record move with it; the new owner is told; history and the audit log keep from/to."""

    name = "reassign"

    def check(self, run: Run) -> None:
        rec, user = run.rec, run.user
        form = run.flow.rt.defs.form(rec.form)
        if not (user.is_admin or rec.owner == user.name
                or run.flow.users.manager_of(rec.owner, run.conn) == user.name
                or user.roles & set(form.permissions.reassign)):
            raise PermissionDenied("only the owner, the owner's manager"
                                   + (f", {', '.join(form.permissions.reassign)}" if form.permissions.reassign
                                      else "") + " and administrators may hand this record over")
        if run.step is not None and run.step.final:
            raise ActionRefused(f"the record is finished (step {rec.state}); it cannot be handed over",
                                "final_step")
        if not isinstance(run.to, str) or not run.to.strip():
            raise ValidationFailed({"to": "name the user to hand the record over to"})
        target = run.flow.users.find(run.to.strip(), run.conn)
        if target is None:
            raise ValidationFailed({"to": f"there is no active user {run.to.strip()!r}"})
        if target.name == rec.owner:
            raise ValidationFailed({"to": f"{target.name} already owns the record"})
        if not run.flow.reader.has_read_role(target, rec.form):
            raise ValidationFailed({"to": f"{target.name} may not read {form.title.get(user.language)} "
                                          "records, so cannot own one"})
        self.target = target.name

    def apply(self, run: Run):
        rec, old, new = run.rec, run.rec.owner, self.target
        form = run.flow.rt.defs.form(rec.form)
        values = dict(rec.data)
        if form.owner_field:
            values[form.owner_field] = new
        moved = self._move_tasks(run, old, new)
        detail = {"from": old, "to": new}
        if moved:
            detail["tasks"] = moved
        after = run.flow.writer.update(run.conn, run.user, rec, values, run.now, action="reassign",
                                       comment=run.comment, detail=detail, owner=new)
        run.conn.execute(t.notifications.insert().values(
            user_name=new, created_at=run.now,
            subject=f"{run.user.name} handed {rec.number or rec.id} over to you",
            body=run.comment, form=rec.form, record_id=rec.id, source="workflow:reassign"))
        audit.write(run.conn, run.now, run.user.name, "reassign", subject=new, form=rec.form,
                    record_id=rec.id, detail={"from": old, "to": new, "number": rec.number})
        return after

    @staticmethod
    def _move_tasks(run: Run, old: str, new: str) -> list:
        """The old owner's open and waiting tasks on the record become the new owner's."""
        mine = run.conn.execute(sa.select(t.tasks).where(
            t.tasks.c.record_id == run.rec.id, t.tasks.c.assignee == old,
            t.tasks.c.kind == "approve", t.tasks.c.status.in_(tasks.ACTIVE))).mappings().all()
        moved = []
        for task in mine:
            tasks.set_status(run.conn, task["id"], from_status=task["status"],
                             to_status=tasks.TRANSFERRED, now=run.now)
            step = run.spec.step(task["step"]) if run.spec is not None else None
            if step is None:
                continue
            if run.conn.execute(sa.select(t.tasks.c.id).where(
                    t.tasks.c.record_id == run.rec.id, t.tasks.c.step == task["step"],
                    t.tasks.c.assignee == new, t.tasks.c.status.in_(tasks.ACTIVE))).first():
                continue  # the new owner already decides here: one task each
            moved.append(create_task(run.flow, run.conn, run.rec, step, new, run.now,
                                     visit=task["visit"], position=task["position"],
                                     due_at=task["due_at"], status=task["status"],
                                     transferred_from=old))
        return moved


BUILTIN_CLASSES = {"transfer": Transfer, "add_signer": AddSigner, "comment": Comment, "cc": Cc,
                   "reassign": Reassign}
