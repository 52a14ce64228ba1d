"""Semantic checks of alerts: form, trigger, condition, recipients and raised records.

Every expression of an alert (its `if`, `create.values`, `{{...}}` in the
subject) is checked against the alert's own form.
"""
from __future__ import annotations

from croniter import croniter

from .checks_workflow import check_create
from .semantics import E_ACTION_KIND, E_ALERT_STEP, E_CRON, Context, value_at
from .suggest import suggestion_suffix


def check(ctx: Context) -> None:
    for aid, doc in ctx.docs.get("alert", {}).items():
        alert = ctx.defs.alerts.get(aid)
        if alert is not None:
            check_alert(ctx, alert, doc)


def check_alert(ctx: Context, alert, doc) -> None:
    form = alert.form if ctx.check_form_ref(doc, ("form",), alert.form) else None
    on = alert.on
    if on.kind == "schedule":
        if not cron_ok(on.cron):
            ctx.add(doc, ("on", "schedule"), f"schedule {on.cron!r} is not a cron expression; "
                    "write five fields: minute hour day month weekday, such as '0 8 * * *'",
                    E_CRON)
    elif on.kind == "enter" and form is not None:
        raw = value_at(doc, ("on",))
        offset = raw.index(":") + 1 + (len(raw.split(":", 1)[1]) - len(raw.split(":", 1)[1].lstrip())) \
            if isinstance(raw, str) and ":" in raw else None
        wf = ctx.workflow_for(form)
        if wf is None:
            ctx.add(doc, ("on",), f"form {form!r} has no workflow, so its records never enter a "
                    "step; use on: change or on: create", E_ALERT_STEP)
        elif on.step not in wf.steps:
            ctx.add(doc, ("on",), f"workflow {wf.id!r} has no step {on.step!r}"
                    f"{suggestion_suffix(on.step, list(wf.steps))}", E_ALERT_STEP, offset=offset)
    if form is None:
        return
    env = ctx.env(form)
    if alert.if_ is not None:
        ctx.check_condition(doc, ("if",), alert.if_, env, "if")
    if alert.notify is not None:
        ctx.check_recipient(doc, ("notify", "to"), form, alert.notify.to, "notify to")
        ctx.check_channels(doc, ("notify", "channels"))
        for key in ("subject", "body"):
            ctx.check_template(doc, ("notify", key), value_at(doc, ("notify", key)), env)
        if "webhook" in alert.notify.channels and not alert.notify.webhook:
            ctx.add(doc, ("notify", "channels"), "the webhook channel needs notify.webhook: the "
                    "URL to post to", "LOOM-E052")
    if alert.create is not None:
        check_create(ctx, doc, ("create",), form, alert.create)
    kinds = ctx.action_kinds()
    for i, act in enumerate(alert.actions):
        if act.kind not in kinds:
            ctx.add(doc, ("actions", i, act.kind), f"unknown action {act.kind!r}"
                    f"{suggestion_suffix(act.kind, kinds)}", E_ACTION_KIND, key=True)
        elif act.if_ is not None and env is not None:
            ctx.check_condition(doc, ("actions", i, act.kind, "if"), act.if_, env, "if")


def cron_ok(text) -> bool:
    try:
        return bool(croniter.is_valid(str(text)))
    except Exception:  # noqa: BLE001 - croniter raises assorted types on odd input
        return False
