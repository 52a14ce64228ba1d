"""The workflow service the Engine facade composes: actions, the inbox, explain, SLAs.

    record = engine.act(user, "expense_claim", 7, "approve", comment="ok")
    engine.tasks(user)                      # the inbox
    engine.available_actions(user, record)  # what the UI offers
    engine.explain(user, record)            # where each action leads, and why
    engine.run_sla()                        # reminders and escalations (loom worker)

One service per runtime snapshot. It is handed what it needs: the snapshot
(`rt`: defs, forms, compiled machines, expression envs), the database, the
clock, the user directory, a reader (records, expressions, access), the
RecordWriter, and the tools on-enter actions get. It never sees the facade.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ..errors import ActionRefused, Conflict, PermissionDenied, ValidationFailed
from ..store import tables as t
from ..labels import builtin_label
from ..records import Page
from ..records import service as record_service
from . import actions as A
from . import offers
from . import tasks as task_store
from .explain import explain
from .machines import CompiledWorkflow
from .moves import enter
from .sla import run_sla
from .stranded import stranded_problems



class WorkflowService:
    """Workflow behind the Engine facade, bound to one runtime snapshot."""

    def __init__(self, rt, db, clock, users, reader, writer, tools):
        self.rt, self.db, self.clock, self.users = rt, db, clock, users
        self.reader, self.writer, self.tools = reader, writer, tools
        self.offer_plans: dict = {}  # offers.plan: what each step offers whom, by key

    # --- public API ---------------------------------------------------------------

    def act(self, user, form: str, id, action: str, comment: str | None = None, to: Any = None,
            version: int | None = None, data: dict | None = None):
        """Do `action` on a record as `user`; the record afterwards (as `user` may see it),
        or why not. `data`: field values to write with the action (an approver filling the
        fields the step's `edit` grants them), checked and validated like any write.

        Raises ActionRefused (with `.reason`), Conflict (stale `version`, or
        another approver decided first), ValidationFailed (a comment or `to`
        missing, the record breaking its rules) or PermissionDenied/NotFound.
        Everything the action does commits together or not at all.
        """
        self.rt.defs.form(form)
        with self.db.write() as conn:
            rec = self.reader.get(conn, user, form, id, lock=True)
            if version is not None and int(version) != rec.version:
                raise Conflict(f"the record was changed by someone else (now version "
                               f"{rec.version}); reload it and try again",
                               current_version=rec.version)
            run = A.Run(self, conn, user, rec, comment, to, data=data)
            handler = A.handler(run, action)
            handler.check(run)
            after = handler.apply(run)
            if run.data and not run.data_used and \
                    self.rt.forms[form].changes(run.data, rec.data, user):  # rolls the action back
                raise ValidationFailed({"data": f"{action} takes no field values; edit the "
                                                "record or fill them with approve"})
            return self.reader.access.redact(user, after)

    def available_actions(self, user, record) -> list[dict]:
        """The actions `user` may take on the record now (same checks as `act`)."""
        with self.db.read() as conn:
            rec = self.reader.get(conn, user, record.form, record.id)
            try:
                run = A.Run(self, conn, user, rec)
            except ActionRefused:
                return []
            out = []
            for name, verdict, worked_out in offers.plan(self, run):
                if verdict is offers.REFUSED:
                    continue
                try:
                    h = A.handler(run, name)
                    if verdict is offers.CHECK:
                        h.check(run)
                    else:
                        vars(h).update(worked_out)
                except (ActionRefused, Conflict, PermissionDenied):
                    continue
                except ValidationFailed as exc:
                    if not set(exc.fields) <= offers.ASKS_ONLY:
                        continue
                out.append(self._describe_action(run, name, h))
            return out

    def tasks(self, user, status: str = "open", limit: int = 100, offset: int = 0, **filters) -> list:
        """The user's approval tasks (the inbox), newest first unless `sort` says otherwise:
        one indexed query (filters: form, step, created_before, due_before, sort)."""
        query = task_store.InboxQuery(status=status, limit=limit, offset=offset, **filters)
        with self.db.read() as conn:
            return task_store.inbox(conn, user.name, query)

    def task_page(self, user, status: str = "open", limit: int = 50, offset: int = 0,
                  capped_total: bool = True, as_json: bool = False, **filters) -> Page:
        """A page of the user's tasks and how many there are in all (with `capped_total`,
        counted up to COUNT_AHEAD past the page, `total_capped` when there are more); with
        `as_json` the items are the tasks' `to_json()`."""
        query = task_store.InboxQuery(status=status, limit=limit, offset=offset, **filters)
        with self.db.read() as conn:
            items = task_store.inbox_json(conn, user.name, query) if as_json else \
                task_store.inbox(conn, user.name, query)
            total, capped = _total(conn, user, query, len(items), capped_total)
        return Page(items, total, total_capped=capped)

    def task_page_rendered(self, user, status: str, limit: int, offset: int, capped_total: bool,
                           render) -> tuple[list, int, bool]:
        """`task_page(as_json=True)` with each item as `render(item)` gives it (a task row read
        again unchanged gives its text again: tasks.py `inbox_rendered`), the total and whether
        it is capped."""
        query = task_store.InboxQuery(status=status, limit=limit, offset=offset)
        with self.db.read() as conn:
            texts = task_store.inbox_rendered(conn, user.name, query, render)
            total, capped = _total(conn, user, query, len(texts), capped_total)
        return texts, total, capped

    def task_count(self, user) -> int:
        """How many open tasks `user` holds."""
        with self.db.read() as conn:
            return task_store.open_count(conn, user.name)

    def step_tasks(self, user, record) -> list:
        """The approval tasks of the record's current step (this visit), for a reader of the record:
        who holds it, who decided, in position order (uxpages: the workflow diagram)."""
        with self.db.read() as conn:
            rec = self.reader.get(conn, user, record.form, record.id)
            if not rec.state:
                return []
            return task_store.current(conn, rec.id, rec.state)

    def explain(self, user, record) -> list[dict]:
        """For each action of the record's step: where it leads and why, and who would approve."""
        with self.db.read() as conn:
            rec = self.reader.get(conn, user, record.form, record.id)
            return explain(self, conn, user, rec)

    def run_sla(self, now: datetime | None = None) -> dict:
        """Remind and escalate overdue tasks; safe to run from two workers at once."""
        return run_sla(self, now or self.clock.now())

    def stranded_problems(self) -> list:
        """Records in flight that the loaded workflows no longer fit, and approver roles with no users."""
        return stranded_problems(self)

    def set_out_of_office(self, user, start: date | None, until: date | None,
                          delegate: str | None):
        """`user` is away from `start` to `until`; their new tasks go to `delegate`."""
        return self.users.set_away(user.name, start, until, delegate)

    def out_of_office(self, user) -> dict:
        """The away period and delegate `user` set: {"start", "until", "delegate"} (None when unset)."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(t.users.c.away_from, t.users.c.away_until, t.users.c.delegate)
                               .where(t.users.c.name == user.name)).first()
        if row is None:
            return {"start": None, "until": None, "delegate": None}
        return {"start": row.away_from, "until": row.away_until, "delegate": row.delegate}

    # --- for the facade and the actions -------------------------------------------------

    def compiled(self, form: str) -> CompiledWorkflow:
        """The form's compiled workflow; ActionRefused when it has none."""
        cw = self.rt.machines.get(form)
        if cw is None:
            raise ActionRefused(f"form {form} has no workflow", "no_workflow")
        return cw

    def create_record(self, conn, user, form: str, values: dict, now):
        """Insert validated values and, under a workflow, enter the start step: what the
        facade's create, an on-enter `create` and an alert's `create` all do."""
        rec = self.writer.insert(conn, user, form, values, now)
        if form in self.rt.machines:
            rec = self.enter_start(conn, user, rec)
        return rec

    def enter_start(self, conn, user, rec):
        """A new workflow record enters its start step: on-enter actions and tasks there."""
        cw = self.compiled(rec.form)
        step = cw.spec.step(cw.spec.start)
        if not step.on_enter and not step.is_approval:
            self.writer.entered(conn, user, rec)
            return rec
        now = self.clock.now()
        values, detail = enter(self, conn, user, rec, step.name, dict(rec.data), now)
        return self.writer.update(conn, user, rec, values, now, state=step.name, action="enter",
                                  from_state=None, detail=detail, entered=True)

    def _describe_action(self, run, name: str, h) -> dict:
        spec = run.step.actions.get(name) if run.step is not None else None
        lang = getattr(run.user, "language", None)
        if spec is not None:
            label = spec.label.get(lang)
        else:
            label = builtin_label(name, lang) or name
        out = {"name": name, "label": label, "builtin": spec is None,
               "comment": spec.comment if spec is not None else
               ("required" if name == "comment" else "optional"),
               "needs_user": name in ("transfer", "add_signer", "cc", "reassign")}
        if isinstance(h, A.Return):
            out["to"] = h.targets
            out["default_to"] = h.dest
        elif getattr(h, "dest", None):
            out["next"] = h.dest
        if spec is not None and spec.confirm:
            out["confirm"] = spec.confirm.get(lang)
        if name in ("transfer", "add_signer"):
            # who cannot take the task: pickers leave them out and say why (assignable())
            out["holding"] = sorted({x.assignee for x in run.current()
                                     if x.status in task_store.ACTIVE} - {run.user.name})
            out["not_offered"] = sorted({run.user.name, *out["holding"]}
                                        | (set() if run.step.allow_self_approval else {run.rec.owner}))
        elif name == "cc":
            out["not_offered"] = [run.user.name]
        return out


def _total(conn, user, query, shown: int, capped_total: bool) -> tuple[int, bool]:
    """An inbox page's total and whether it is capped, `shown` tasks on it."""
    if shown < query.limit and (shown or not query.offset):  # the last page: nothing to count
        return query.offset + shown, False
    cap = query.offset + query.limit + record_service.COUNT_AHEAD if capped_total else None
    total = task_store.inbox_total(conn, user.name, query, cap)
    capped = cap is not None and total > cap
    return (cap if capped else total), capped
