"""The alert service the Engine facade composes: triggers, notifications, the inbox, traces,
schedules and the outbox.

One service per runtime snapshot (its compiled alerts are `rt.alerts_by_form`
and `rt.alerts_scheduled`). It is handed the database, the clock, the user
directory, a reader (records, expressions, access) and the tools actions get
(whose `create` raises a record through the workflow's start step). Every
write reaches it through `on_change`, inside the write's transaction.
"""
from __future__ import annotations

import html
from typing import Any

import sqlalchemy as sa

from ..errors import NotFound, PermissionDenied
from ..store import tables as t
from . import dedup, outbox, templates, traces, triggers
from .channels import Message, Recipient
from .runtime import compile_alert, condition, hand_over, send_notification, values_seen
from .scheduler import run_due


class AlertService:
    """Alerts behind the Engine facade, bound to one runtime snapshot."""

    def __init__(self, rt, db, clock, users, reader, tools):
        self.rt, self.db, self.clock, self.users = rt, db, clock, users
        self.reader, self.tools = reader, tools
        self.shapes: dict = {}  # runtime._shape: each form's link and choice fields

    def on_change(self, change) -> None:
        """The change listener: event-triggered alerts of the written record's form."""
        triggers.on_change(self, change)

    def on_changes(self, changes: list) -> None:
        """`on_change` for the changes of one bulk write, traces written together."""
        triggers.on_changes(self, changes)

    def create_in(self, conn, user, form: str, data):
        """An alert's `create`: validate `data` as `user` and store it (workflow start too)."""
        values = self.rt.forms[form].prepare(dict(data or {}), user=user, existing=None,
                                             services=self.reader.services(conn, user))
        return self.tools.create(conn, user, form, values, self.clock.now())

    def send_notification(self, conn, *, to, channels, subject: str, body: str = "", record,
                          source: str, webhook: str | None = None) -> dict:
        """Render and queue/write a notification inside `conn`'s transaction (also for workflow
        `notify` step actions). Returns {"recipients", "subject", "channels"}."""
        return send_notification(self, conn, to=to, channels=channels, subject=subject, body=body,
                                 record=record, source=source, webhook=webhook)

    def enqueue_notification(self, conn, *, channel: str, users, subject: str, body: str = "",
                             form: str | None = None, record_id: int | None = None,
                             source: str | None = None, webhook: str | None = None) -> list[int]:
        """Queue an already-rendered notification on an outbox channel inside `conn`'s
        transaction (the workflow's `notify` uses this for email). Returns outbox ids."""
        people = []
        for name in dict.fromkeys(users):
            u = self.users.find(name, conn)
            if u is not None:
                people.append(Recipient(u.name, u.email, u.full_name, u.language))
        now = self.clock.now()
        msg = Message(source=source or (f"workflow:{form}" if form else "notify"), form=form,
                      record_id=record_id, recipients=tuple(people), subject=" ".join(subject.split()),
                      text=body or "", at=now, webhook=webhook,
                      html=templates.html_page(subject, html.escape(body or "").replace("\n", "<br>\n")))
        return hand_over(conn, channel, self.rt.registries.channels[channel], msg,
                         now).get("queued", [])

    def tell(self, conn, *, user: str, channels, subject: str, body: str, link: str = "",
             form: str | None, record_id: int | None, source: str) -> None:
        """One rendered message to one user on each channel, inside `conn`'s transaction.
        `link` (a line with the record's address) goes into what leaves the app (outbox
        channels: email); the in-app inbox links the record itself."""
        for channel in channels:
            sent_out = self.rt.registries.channels[channel].outbox
            text = "\n".join(x for x in (body, link if sent_out else "") if x)
            self.enqueue_notification(conn, channel=channel, users=[user], subject=subject,
                                      body=text, form=form, record_id=record_id, source=source)

    # --- inbox -------------------------------------------------------------

    def notifications(self, user, unread_only: bool = False, limit: int = 50,
                      offset: int = 0) -> list[dict]:
        """The user's inbox, newest first."""
        n = t.notifications
        q = sa.select(n).where(n.c.user_name == user.name)
        if unread_only:
            q = q.where(n.c.read_at.is_(None))
        q = q.order_by(n.c.id.desc()).limit(max(0, min(int(limit), 500))).offset(max(0, int(offset)))
        with self.db.read() as conn:
            return [_notification_json(r) for r in conn.execute(q).mappings()]

    def unread_count(self, user) -> int:
        n = t.notifications
        with self.db.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(n).where(
                n.c.user_name == user.name, n.c.read_at.is_(None))).scalar_one()

    def mark_read(self, user, ids: list[int] | None = None) -> int:
        """Mark the given notifications (all, when None) of the user read; returns how many."""
        n = t.notifications
        q = n.update().where(n.c.user_name == user.name, n.c.read_at.is_(None))
        if ids is not None:
            q = q.where(n.c.id.in_([int(i) for i in ids]))
        with self.db.write() as conn:
            return conn.execute(q.values(read_at=self.clock.now())).rowcount

    # --- traces ------------------------------------------------------------

    def alert_traces(self, user, alert: str | None = None, form: str | None = None,
                     record_id: int | None = None, limit: int = 100) -> list[dict]:
        """Why alerts fired or did not, newest first: per alert, per form, per record.

        Admins see every trace; others see traces of forms they may read and,
        for per-record traces, only records they may read."""
        defs = self.rt.defs
        if alert is not None and alert not in defs.alerts:
            raise NotFound(f"no alert {alert!r}")
        names = [a.id for a in defs.alerts.values()
                 if (alert is None or a.id == alert) and (form is None or a.form == form)]
        if not user.is_admin:
            names = [a for a in names if self.reader.has_read_role(user, defs.alerts[a].form)]
            if alert is not None and not names:
                raise PermissionDenied(f"you may not read {defs.alerts[alert].form} records")
        with self.db.read() as conn:
            if record_id is not None and not user.is_admin:
                row = conn.execute(sa.select(t.records.c.form).where(
                    t.records.c.id == int(record_id))).first()
                if row is None:
                    raise NotFound(f"no record with id {record_id}")
                self.reader.get(conn, user, row.form, record_id)  # NotFound when not readable
            rows = traces.query(conn, alerts=names, record_id=record_id,
                                limit=max(1, min(int(limit), 1000)))
            if not user.is_admin and record_id is None:
                rows = [r for r in rows if r["record_id"] is None
                        or self.reader.readable_values(conn, user, defs.alerts[r["alert"]].form,
                                                       r["record_id"]) is not None]
            if not user.is_admin:
                rows = [self._masked(user, r) for r in rows]
        return [{**r, "at": r["at"].isoformat(timespec="seconds") + "Z"} for r in rows]

    def _masked(self, user, row: dict) -> dict:
        """A trace as `user` may see it: values the system read through a link to a form
        they may not read in full (no read role, or a `rows` rule) are withheld (None)."""
        detail = row.get("detail")
        seen = detail.get("values") if isinstance(detail, dict) else None
        if not isinstance(seen, dict):
            return row
        form = self.rt.defs.alerts[row["alert"]].form
        values = {k: None if self._through_hidden(user, form, k) else v for k, v in seen.items()}
        return {**row, "detail": {**detail, "values": values}}

    def _through_hidden(self, user, form_id: str, name: str) -> bool:
        container = self.rt.defs.form(form_id)
        for part in name.split(".")[:-1]:
            f = container.field(part)
            if f is None or not (f.is_table or f.type == "link"):
                return False  # user.*, a parameter: no linked record
            if f.type == "link":
                target = self.rt.defs.form(f.to)
                if not self.reader.has_read_role(user, f.to) or target.permissions.rows is not None:
                    return True
                container = target
            else:
                container = f
        return False

    def explain_alert(self, user, alert: str, record_id: int) -> dict:
        """Evaluate an alert's condition on a record now, without firing: the values it sees."""
        spec = self.rt.defs.alerts.get(alert)
        if spec is None:
            raise NotFound(f"no alert {alert!r}")
        rt = compile_alert(spec, self.rt.defs, self.rt.registries, self.rt.form_types)
        with self.db.read() as conn:
            rec = self.reader.get(conn, user, spec.form, record_id)
            values = rec.values()
            state = dedup.get(conn, alert, rec.id)
            return {"alert": alert, "record_id": rec.id,
                    "if": spec.if_.source if spec.if_ else None,
                    "condition": condition(self.reader, rt, values, user, conn),
                    "values": traces.jsonable(values_seen(self.reader, rt, values, conn, user)),
                    "once": spec.once, "active": bool(state and state["active"]),
                    "last_fired_at": traces.jsonable(state["last_fired_at"]) if state else None}

    # --- outbox ------------------------------------------------------------

    def dead_letters(self, user=None, limit: int = 100) -> list[dict]:
        """Outbox deliveries that failed MAX_ATTEMPTS times (`dead`) or could not be tried at
        all (`undeliverable`: an email to a user with no address), with the reason in
        `last_error`; admins only when a user is given."""
        _admin(user)
        with self.db.read() as conn:
            return [_outbox_json(r) for r in outbox.dead(conn, limit)]

    def retry_dead(self, outbox_id: int, user=None) -> bool:
        """Queue a dead delivery again, attempts reset; False if it is not dead."""
        _admin(user)
        with self.db.write() as conn:
            return outbox.requeue(conn, int(outbox_id), self.clock.now())

    def outbox_status(self) -> dict[str, int]:
        """Counts of outbox rows by status (pending | sent | dead | undeliverable)."""
        o = t.outbox
        with self.db.read() as conn:
            return {s: c for s, c in conn.execute(
                sa.select(o.c.status, sa.func.count()).group_by(o.c.status))}

    def run_schedules(self, owner: str = "engine", stop=None) -> list:
        """One pass over scheduled alerts (what `loom worker` does each poll)."""
        return run_due(self, owner, stop)

    def deliver_outbox(self, owner: str = "engine", limit: int = 50, stop=None) -> dict:
        """One outbox delivery pass (what `loom worker` does each poll)."""
        return outbox.deliver_due(self.db, self.rt.registries.channels, owner, self.clock,
                                  limit=limit, stop=stop)


def _admin(user) -> None:
    if user is not None and not user.is_admin:
        raise PermissionDenied("only administrators see and retry failed deliveries")


def _notification_json(r) -> dict[str, Any]:
    iso = lambda v: None if v is None else v.isoformat(timespec="seconds") + "Z"  # noqa: E731
    return {"id": r["id"], "subject": r["subject"], "body": r["body"], "form": r["form"],
            "record_id": r["record_id"], "source": r["source"], "created_at": iso(r["created_at"]),
            "read": r["read_at"] is not None, "read_at": iso(r["read_at"])}


def _outbox_json(r) -> dict[str, Any]:
    return {**{k: r[k] for k in ("id", "channel", "payload", "status", "attempts", "last_error")},
            "created_at": r["created_at"], "next_attempt_at": r["next_attempt_at"]}
