"""The Engine facade's workflow methods (mixed into engine.Engine).

    record = engine.act(user, "expense_claim", 7, "approve", comment="ok")
    engine.tasks(user)                      # the inbox
    engine.available_actions(user, record)  # what the UI offers
    engine.explain(user, record)            # where each action leads, and why
    engine.run_sla()                        # reminders and escalations (loom worker)
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..errors import ActionRefused, Conflict, ValidationFailed
from ..labels import builtin_label
from . import actions as A
from . import tasks as task_store
from .machines import CompiledWorkflow



class WorkflowFacade:
    """Methods the Engine exposes for workflow."""

    def _init_workflow(self) -> None:
        """Compile every workflow into its machine; called on start and on reload.

        The new dict replaces the old one in one assignment, so an action
        running during a reload sees either the old machines or the new ones.
        """
        from ..expr import types as T

        self._wf_envs: dict = {}
        self._wf_T = T
        machines = {}
        for wf in self.defs.workflows.values():
            if wf.form not in self.defs.forms:
                continue
            machines[wf.form] = CompiledWorkflow(
                wf, lambda expr, form=wf.form: self._wf_compile(expr, form))
        self._wf_machines = machines

    # --- public API ---------------------------------------------------------------

    def act(self, user, form: str, id, action: str, comment: str | None = None, to: Any = None,
            version: int | None = None):
        """Do `action` on a record as `user`; the record afterwards, or why not.

        Raises ActionRefused (with `.reason`), Conflict (stale `version`, or
        another approver decided first), ValidationFailed (a comment or `to`
        missing, the record breaking its rules) or PermissionDenied/NotFound.
        Everything the action does commits together or not at all.
        """
        self.defs.form(form)
        with self.db.write() as conn:
            rec = self._get(conn, user, form, id, lock=True)
            if version is not None and int(version) != rec.version:
                raise Conflict(f"the record was changed by someone else (now version "
                               f"{rec.version}); reload it and try again",
                               current_version=rec.version)
            run = A.Run(self, conn, user, rec, comment, to)
            handler = A.handler(run, action)
            handler.check(run)
            return handler.apply(run)

    def available_actions(self, user, record) -> list[dict]:
        """The actions `user` may take on the record now (same checks as `act`)."""
        if self.defs.workflow_for(record.form) is None:
            return []
        with self.db.read() as conn:
            rec = self._get(conn, user, record.form, record.id)
            try:
                run = A.Run(self, conn, user, rec)
            except ActionRefused:
                return []
            out = []
            for name in A.candidates(run):
                try:
                    h = A.handler(run, name)
                    h.check(run)
                except (ActionRefused, Conflict):
                    continue
                except ValidationFailed as exc:
                    if not set(exc.fields) <= {"comment", "to"}:
                        continue
                out.append(self._describe_action(run, name, h))
            return out

    def tasks(self, user, status: str = "open", limit: int = 100, offset: int = 0) -> list:
        """The user's approval tasks (the inbox), newest first: one indexed query."""
        with self.db.read() as conn:
            return task_store.inbox(conn, user.name, status, limit, offset)

    def explain(self, user, record) -> list[dict]:
        """For each action of the record's step: where it leads and why, and who would approve."""
        from .explain import explain

        with self.db.read() as conn:
            rec = self._get(conn, user, record.form, record.id)
            return explain(self, conn, user, rec)

    def run_sla(self, now: datetime | None = None) -> dict:
        """Remind and escalate overdue tasks; safe to run from two workers at once."""
        from .sla import run_sla

        return run_sla(self, now or self.clock.now())

    def stranded_problems(self) -> list:
        """Records in flight that the loaded workflows no longer fit, and approver roles with no users."""
        from .stranded import stranded_problems

        return stranded_problems(self)

    def set_out_of_office(self, user, start: date | None, until: date | None,
                          delegate: str | None):
        """`user` is away from `start` to `until`; their new tasks go to `delegate`."""
        return self.users.set_away(user.name, start, until, delegate)

    def out_of_office(self, user) -> dict:
        """The away period and delegate `user` set: {"start", "until", "delegate"} (None when unset)."""
        import sqlalchemy as sa

        from ..store import tables as t

        with self.db.read() as conn:
            row = conn.execute(sa.select(t.users.c.away_from, t.users.c.away_until, t.users.c.delegate)
                               .where(t.users.c.name == user.name)).first()
        if row is None:
            return {"start": None, "until": None, "delegate": None}
        return {"start": row.away_from, "until": row.away_until, "delegate": row.delegate}

    # --- internals -------------------------------------------------------------------

    def _wf_compiled(self, form: str) -> CompiledWorkflow:
        cw = self._wf_machines.get(form)
        if cw is None:
            raise ActionRefused(f"form {form} has no workflow", "no_workflow")
        return cw

    def _wf_env(self, form: str, table: str | None = None, target: str | None = None):
        from ..definitions.environment import form_env

        key = (form, table, target)
        env = self._wf_envs.get(key)
        if env is None:
            extra = {}
            if table is not None:
                extra["line"] = self._form_types[form][table].item
            if target is not None:
                extra["target"] = self._wf_T.link(target)
            env = form_env(self.defs, self.registries.field_types, form, extra=extra or None,
                           forms=self._form_types)
            self._wf_envs[key] = env
        return env

    def _wf_compile(self, expr, form: str, table: str | None = None, target: str | None = None):
        return expr.compile_python(self._wf_env(form, table, target), self.registries.functions)

    def _describe_action(self, run, name: str, h) -> dict:
        spec = run.step.actions.get(name)
        lang = getattr(run.user, "language", None)
        if spec is not None:
            label = spec.label.get(lang)
        else:
            label = builtin_label(name, lang) or name
        out = {"name": name, "label": label, "builtin": spec is None,
               "comment": spec.comment if spec is not None else
               ("required" if name == "comment" else "optional"),
               "needs_user": name in ("transfer", "add_signer", "cc")}
        if isinstance(h, A.Return):
            out["to"] = h.targets
            out["default_to"] = h.dest
        elif getattr(h, "dest", None):
            out["next"] = h.dest
        if spec is not None and spec.confirm:
            out["confirm"] = spec.confirm.get(lang)
        return out

    def _enter_start(self, conn, user, rec):
        """A new workflow record enters its start step: on-enter actions and tasks there."""
        cw = self._wf_compiled(rec.form)
        step = cw.spec.step(cw.spec.start)
        if not step.on_enter and not step.is_approval:
            A.announce_enter(self, conn, user, rec)
            return rec
        now = self.clock.now()
        values, detail = A.enter(self, conn, user, rec, step.name, dict(rec.data), now)
        after = A.write(self, conn, user, rec, step.name, values, now)
        self.repo.append_event(conn, record_id=rec.id, form=rec.form, at=now, actor=user.name,
                               action="enter", from_state=None, to_state=step.name,
                               version=after.version,
                               diff=self.runtimes[rec.form].diff(rec.data, values) or None,
                               detail=detail or None)
        A.announce(self, conn, user, rec, after, step.name)
        return after

    def _wf_write_other(self, conn, user, target, target_row: dict, values: dict, now, why: str):
        """Write another record changed by an on-enter `update`."""
        from ..engine import Change

        runtime = self.runtimes[target.form]
        diff = runtime.diff(target.data, values)
        row = self.repo.update(conn, target_row, data=runtime.dump(values), values=values,
                               state=target.state, now=now, expected_version=None,
                               changed=diff.keys())
        after = self._record(row)
        self.repo.append_event(conn, record_id=after.id, form=after.form, at=now, actor=user.name,
                               action="update", from_state=after.state, to_state=after.state,
                               version=after.version, diff=diff, detail={"by": why})
        self._emit(Change("update", after.form, user, target, after, after.state, conn))
        return after
