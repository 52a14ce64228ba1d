"""Telling people about their work: the owner hears of return, rejection and final approval;
a user hears when a task is assigned, transferred or added to them, or an SLA reminds them
of an overdue decision or escalates one to them.

Each message is rendered in the recipient's language (engine/labels.py NEWS) and handed,
inside the action's transaction, to the channels the recipient chose (`users.notify_by`:
inbox and/or email; inbox when unset) — so a rolled-back action tells nobody. The record's
title and a link go with it: the inbox row carries form and record id (the notifications
page links it); messages sent out (email) carry the path, after LOOM_BASE_URL when that is set.
"""
from __future__ import annotations

import os

from ..labels import news_text

OWNER_NEWS = {"reject": "rejected", "return": "returned"}  # else "approved" on a final step


def tell_assignee(flow, conn, rec, step, assignee: str, why: str, actor: str | None) -> None:
    """`assignee` got a task in `step`: `why` is assigned, transferred or added (None: the
    caller tells them itself, as an SLA escalation does)."""
    if why is None or actor == assignee:
        return
    _send(flow, conn, rec, assignee, why, actor, None, step.name)


def tell_owner(flow, conn, rec, action: str, source, dest, actor: str,
               comment: str | None) -> None:
    """After `action` moved `rec` from step `source` to `dest`: the owner hears of a return,
    a rejection, or the final approval (a decision that leaves the approval steps)."""
    if rec.owner == actor:
        return
    why = OWNER_NEWS.get(action)
    if why is None:
        if action == "withdraw" or not source.is_approval or dest.is_approval:
            return
        why = "approved"
    _send(flow, conn, rec, rec.owner, why, actor, comment, dest.name)


def tell_copied(flow, conn, rec, name: str, actor: str, comment: str | None) -> None:
    """`name` was copied in (抄送) on `rec`."""
    _send(flow, conn, rec, name, "copied", actor, comment, rec.state)


def tell_overdue(flow, conn, rec, step, name: str, why: str, due_at) -> None:
    """An SLA: `name` is reminded of an overdue decision in `step` (`why` "overdue"), or
    hears that one was escalated to them ("escalated")."""
    source = "sla:remind" if why == "overdue" else "sla:escalate"
    _send(flow, conn, rec, name, why, None, None, step.name, source=source,
          due=f"{due_at:%Y-%m-%d %H:%M}")


def _send(flow, conn, rec, name: str, why: str, actor, comment, step_name: str,
          source: str | None = None, **extra) -> None:
    user = flow.users.find(name, conn)
    if user is None or flow.tools.tell is None:
        return
    defs = flow.rt.defs
    lang = user.language or defs.app.default_language
    form = defs.forms[rec.form]
    wf = defs.workflow_for(rec.form)
    st = wf.step(step_name) if wf is not None else None
    step_label = st.title.get(lang) if st is not None and getattr(st, "title", None) else step_name
    title = rec.number or (form.title_field and rec.data.get(form.title_field)) or f"#{rec.id}"
    values = {"form": form.title.get(lang), "title": title, "step": step_label or step_name,
              "actor": actor or "", **extra}
    subject = news_text(why, lang, **values)
    lines = [news_text("by", lang, **values)] if actor else []
    if comment:
        lines.append(news_text("comment", lang, comment=comment))
    registry = flow.rt.registries.channels
    channels = [c for c in user.notify_by if c in registry] or ["inbox"]
    # the link goes only into what leaves the app (outbox channels: email); the inbox links
    # the record itself, so most news need neither the environment nor the link's text
    link = ""
    if any(registry[c].outbox for c in channels):
        base = os.environ.get("LOOM_BASE_URL", "").rstrip("/")
        link = news_text("open", lang, link=f"{base}/f/{rec.form}/{rec.id}")
    flow.tools.tell(conn, user=name, channels=channels, subject=subject, body="\n".join(lines),
                    link=link, form=rec.form, record_id=rec.id,
                    source=source or f"workflow:{why}")
