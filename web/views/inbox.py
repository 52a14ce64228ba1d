"""The approval inbox as a work queue: my tasks by status, with each workflow's `summary`
columns, filters (form, step, age, due), sorting, and bulk approve/reject.

The page is one SQL query (Engine.tasks: filters and order in SQL over ix_tasks_inbox)
plus one query per form the summary columns link to (their titles); bulk decisions go through Engine.act one
task at a time, so each is authorized and decided on its own and may fail on its own.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import ActionRefused, Conflict, LoomError, ValidationFailed

from .. import formdata as fd
from .. import i18n
from ..auth import acting_user
from ..paging import page_number, past_the_end
from .common import engine, label, lang, msg, t

bp = Blueprint("inbox", __name__)
STATUSES = ("open", "waiting", "done", "transferred")
SORTS = ("newest", "oldest", "due")
AGES = (1, 3, 7)  # "older than n days" filters
DUES = ("overdue", "today")
PAGE = 50
BULK = ("approve", "reject")
MAX_BULK = 100


def summary_fields(eng, spec, wf) -> list:
    """The fields a task of this form shows: the workflow's `summary`, else the title field
    and the first money field (owner and age are always shown)."""
    if wf is not None and wf.summary:
        return [f for f in (spec.field(n) for n in wf.summary) if f is not None]
    out = [spec.field(spec.title_field)] if spec.title_field and spec.field(spec.title_field) else []
    money = next((f for f in spec.fields
                  if not f.is_table and getattr(fd.field_type(eng, f), "money", False)), None)
    return [f for f in out + [money] if f is not None]


def _rows(eng, user, tasks) -> list[dict]:
    forms = eng.defs.forms
    columns = {}
    for task in tasks:
        if task.form not in columns and task.form in forms:
            columns[task.form] = summary_fields(eng, forms[task.form],
                                            eng.defs.workflow_for(task.form))
    values, wanted = [], set()
    for task in tasks:
        spec = forms.get(task.form)
        loaded = []
        for f in columns.get(task.form, ()):
            ftype = fd.field_type(eng, f)
            try:
                v = ftype.load(f, (task.data or {}).get(f.name))
            except (LoomError, ValueError, TypeError):
                v = None
            loaded.append((f, v))
            if target := ftype.link_of(f, v):
                wanted.add(target)
        values.append((task, spec, loaded))
    labels = fd.WebLabels(_titles(eng, user, wanted))
    now = eng.clock.now()
    out = []
    for task, spec, loaded in values:
        out.append({
            "task": task, "spec": spec,
            "cells": [(label(f.label, f.name), fd.display(eng, f, v, labels)) for f, v in loaded
                      if v not in (None, "", [])],
            "age": i18n.age(task.created_at, now, lang()),
            "overdue": task.due_at is not None and task.due_at < now and task.status == "open",
        })
    return out


def _titles(eng, user, wanted) -> dict:
    """{(form, id): title} of the linked records shown: one list query per linked form, read
    as the user (a record they may not read stays "#id")."""
    by_form: dict[str, list[int]] = {}
    for form, rid in wanted:
        if str(rid).isdigit():
            by_form.setdefault(form, []).append(int(rid))
    out = {}
    for form, ids in by_form.items():
        try:
            page = eng.list(user, form, filter=f"id in {sorted(set(ids))!r}", limit=len(ids))
        except LoomError:
            continue
        out.update({(form, str(r.id)): fd.title_of(eng, r) for r in page.items})
    return out


@bp.get("/inbox")
@login_required
def index():
    status = request.args.get("status", "open")
    if status not in STATUSES:
        abort(400)
    eng, user = engine(), acting_user()
    asked = {k: request.args.get(k) or "" for k in ("form", "step", "age", "due", "sort")}
    if asked["form"] not in eng.defs.forms:
        asked["form"] = ""
    wf = eng.defs.workflow_for(asked["form"]) if asked["form"] else None
    if not wf or asked["step"] not in wf.steps:
        asked["step"] = ""
    now = eng.clock.now()
    created_before = now - timedelta(days=int(asked["age"])) if asked["age"] in map(str, AGES) else None
    due_before = {"overdue": now, "today": now + timedelta(days=1)}.get(asked["due"])
    sort = asked["sort"] if asked["sort"] in SORTS else "newest"
    page = page_number(request.args)
    found = eng.task_page(user, status, PAGE, (page - 1) * PAGE, form=asked["form"] or None,
                          step=asked["step"] or None, created_before=created_before,
                          due_before=due_before, sort=sort, values=True)
    pages = max(1, -(-found.total // PAGE))
    back = past_the_end(page, pages, "inbox.index")
    if back is not None:
        return back
    forms = [f for f in eng.defs.forms.values() if eng.defs.workflow_for(f.id) is not None]
    return render_template("inbox.html", rows=_rows(eng, user, found.items), status=status,
                           statuses=STATUSES, forms=forms, asked=asked, wf=wf, sorts=SORTS,
                           ages=AGES, dues=DUES, bulk=BULK if status == "open" else (),
                           page=page, pages=pages, total=found.total,
                           total_capped=found.total_capped)


@bp.post("/inbox/decide")
@login_required
def decide():
    """Approve or reject the ticked tasks with one comment; each task is decided (and
    authorized) on its own, and the page says which ones could not be decided and why."""
    eng, user = engine(), acting_user()
    action = request.form.get("action")
    if action not in BULK:
        abort(400)
    picked = request.form.getlist("task")[:MAX_BULK]
    if not picked:
        flash(t("bulk_none"), "error")
        return redirect(url_for("inbox.index"), 303)
    comment = (request.form.get("comment") or "").strip() or None
    ok, failed = 0, []
    for item in picked:
        form, rid, number = (item.split(":", 2) + ["", ""])[:3]  # number: for the message only
        if form not in eng.defs.forms or not rid.isdigit():
            abort(400)
        try:
            eng.act(user, form, int(rid), action, comment=comment)
            ok += 1
        except ValidationFailed as exc:
            failed.append(f"{number or '#' + rid}: " + (" ".join(msg(v) for v in exc.fields.values()) or msg(exc.message)))
        except (ActionRefused, Conflict) as exc:
            failed.append(f"{number or '#' + rid}: {i18n.refusal(exc, lang())}")
        except LoomError as exc:  # e.g. no longer readable
            failed.append(f"{number or '#' + rid}: {i18n.refusal(exc, lang())}")
    flash(t("bulk_result", ok=ok, n=len(picked)), "info")
    for line in failed:
        flash(f"{t('bulk_failed')} {line}", "error")
    return redirect(url_for("inbox.index"), 303)
