"""Every form's pages, generated from its definition: list, new, edit, record, actions, link picker."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import ActionRefused, Conflict, LoomError, NotFound, ValidationFailed

from .. import formdata as fd
from .. import report_view
from ..auth import acting_user
from ..workflow_view import available_actions
from .common import engine, label, readable_forms, t

bp = Blueprint("forms", __name__)

PAGE_SIZE = 25
MAX_QUERY = 100
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INT_RE = re.compile(r"^\d{1,15}$")


def _spec(form: str):
    try:
        return engine().defs.form(form)
    except NotFound:
        abort(404)


def lit(text: str) -> str:
    """A user's text as a string literal of the expression language: data, never code.

    `repr` of a str is always one string literal that `ast` parses back to the
    same text, whatever quotes or operators the text holds.
    """
    return repr(str(text))


# --- list ---------------------------------------------------------------------


def _filters(spec, args) -> tuple[list[str], dict]:
    """Expression parts for the search box and the indexed-field filters, and what was asked."""
    parts, asked = [], {}
    q = (args.get("q") or "").strip()[:MAX_QUERY]
    if q:
        asked["q"] = q
        tf = spec.title_field or "number"
        parts.append(f"contains(lower({tf}), lower({lit(q)}))")
    for name in spec.indexes:
        f = spec.field(name)
        if f is None:
            continue
        if f.type in ("date", "datetime"):
            lo, hi = (args.get(f"x.{name}.from") or "").strip(), (args.get(f"x.{name}.to") or "").strip()
            if DATE_RE.match(lo):
                parts.append(f"{name} >= {lit(lo)}")
                asked[f"x.{name}.from"] = lo
            if DATE_RE.match(hi):
                parts.append(f"{name} <= {lit(hi)}")
                asked[f"x.{name}.to"] = hi
            continue
        v = (args.get(f"x.{name}") or "").strip()[:MAX_QUERY]
        if not v:
            continue
        if f.type == "choice" and v in f.options:
            parts.append(f"{name} == {lit(v)}")
        elif f.type == "link" and INT_RE.match(v):
            parts.append(f"{name} == {int(v)}")
        elif f.type in ("integer",) and re.match(r"^-?\d{1,15}$", v):
            parts.append(f"{name} == {int(v)}")
        elif f.type in ("text", "email", "phone", "user", "textarea"):
            parts.append(f"contains(lower({name}), lower({lit(v)}))")
        else:
            continue
        asked[f"x.{name}"] = v
    return parts, asked


def _sortable(spec) -> list[str]:
    names = list(spec.indexes)
    if spec.title_field and spec.title_field not in names and spec.field(spec.title_field):
        names.insert(0, spec.title_field)
    return [n for n in names if spec.field(n) is not None and not spec.field(n).is_table]


@bp.get("/f/<form>")
@login_required
def listing(form):
    spec = _spec(form)
    eng, user = engine(), acting_user()
    parts, asked = _filters(spec, request.args)
    sortable = _sortable(spec)
    sort = request.args.get("sort") or ""
    if sort.lstrip("-") not in sortable:
        sort = ""
    try:
        page_no = max(1, min(int(request.args.get("page") or 1), 100000))
    except ValueError:
        page_no = 1
    page = eng.list(user, form, filter=" and ".join(parts) or None, order=sort or None,
                    limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    columns = [spec.field(n) for n in spec.indexes if spec.field(n) is not None and n != spec.title_field]
    link_titles = {}
    for c in columns:
        if c.type == "link":
            for r in page.items:
                v = r.data.get(c.name)
                if v is not None and (c.to, str(v)) not in link_titles:
                    link_titles[(c.to, str(v))] = fd.record_title(eng, user, c.to, v)
    rows = []
    for r in page.items:
        cells = []
        for c in columns:
            v = r.data.get(c.name)
            cells.append(link_titles.get((c.to, str(v)), "") if c.type == "link" and v is not None
                         else fd.display(eng, c, v))
        rows.append({"rec": r, "title": fd.title_of(eng, r), "cells": cells})
    filters = []
    for name in spec.indexes:
        f = spec.field(name)
        if f is not None and f.type in ("date", "datetime", "choice", "link", "integer", "text",
                                        "email", "phone", "user", "textarea"):
            filters.append(f)
    pages = max(1, (page.total + PAGE_SIZE - 1) // PAGE_SIZE)
    wf = eng.defs.workflow_for(form)
    template = "_list_results.html" if request.headers.get("HX-Request") and \
        request.headers.get("HX-Target") == "results" else "list.html"
    return render_template(template, spec=spec, rows=rows, columns=columns, total=page.total,
                           page=page_no, pages=pages, sort=sort, sortable=sortable, asked=asked,
                           filters=filters, can_create=eng.can_create(user, form), wf=wf,
                           link_options=_filter_link_options(eng, user, filters))


@bp.get("/f/<form>/export.<fmt>")
@login_required
def export(form, fmt):
    """Every record of the form the user may read, as a streamed CSV/XLSX download."""
    spec = _spec(form)
    if fmt not in report_view.MIMETYPES:
        abort(404)
    eng, user = engine(), acting_user()
    if spec not in readable_forms(eng, user):
        abort(403)
    return report_view.download(eng.form_stream(user, form), fmt, form)


def _filter_link_options(eng, user, filters) -> dict:
    out = {}
    for f in filters:
        if f.type == "link":
            out[f.name] = _options(eng, user, f.to, "")
    return out


def _options(eng, user, form: str, q: str, limit: int = 20) -> list[tuple[str, str]]:
    spec = eng.defs.forms.get(form)
    if spec is None:
        return []
    q = q.strip()[:MAX_QUERY]
    flt = f"contains(lower({spec.title_field or 'number'}), lower({lit(q)}))" if q else None
    order = spec.title_field if spec.title_field and spec.field(spec.title_field) else None
    try:
        page = eng.list(user, form, filter=flt, order=order, limit=limit)
    except LoomError:
        return []
    return [(str(r.id), fd.title_of(eng, r), r) for r in page.items]


@bp.get("/pick/<form>")
@login_required
def pick(form):
    """Options for a link picker (htmx swaps them into the <select>)."""
    eng, user = engine(), acting_user()
    if form not in eng.defs.forms:
        abort(404)
    selected = request.args.get("selected") or ""
    attrs = [a for a in (request.args.get("attrs") or "").split(",") if re.match(r"^\w+$", a)]
    options = _options(eng, user, form, request.args.get("q") or "")
    return render_template("_link_options.html", options=_with_attrs(eng, options, attrs),
                           selected=selected, required=False)


def _with_attrs(eng, options, attrs):
    """Options with the linked record's values that row defaults copy (e.g. item.price)."""
    out = []
    for value, title, rec in options:
        data = {}
        for a in attrs:
            spec = eng.defs.forms[rec.form]
            f = spec.field(a)
            if f is not None and not f.is_table:
                data[a] = fd.text_of(eng.registries.field_types.get(f.type), f, rec.data.get(a))
        out.append((value, title, data))
    return out


# --- new / edit -----------------------------------------------------------------


def _editor(spec, texts, errors, record=None, status=200, message=None):
    eng, user = engine(), acting_user()
    titles = fd.link_titles_for(eng, user, spec, texts)
    widgets = fd.widgets(eng, user, spec, texts, errors, None, titles)
    link_options = {}
    for w in widgets:
        for cell in ([w] + list(w.get("template") or [])):
            if cell["type"] == "link" and cell["to"] not in link_options:
                attrs = _default_attrs(spec, cell["to"])
                link_options[cell["to"]] = (_with_attrs(eng, _options(eng, user, cell["to"], ""), attrs), attrs)
    users = [u.name for u in eng.users.all()]
    return render_template("form.html", spec=spec, widgets=widgets, errors=errors, record=record,
                           link_options=link_options, users=users, message=message,
                           general=[(k, v) for k, v in errors.items() if not _is_field_path(spec, k)]), status


def _default_attrs(spec, to_form: str) -> list[str]:
    """Fields of `to_form` that some row default reads through a link (`item.price` → price)."""
    out = []
    for f in spec.fields:
        for c in (f.fields if f.is_table else (f,)):
            m = fd.DEFAULT_FROM_RE.match(c.default.expr.source) if c.default and c.default.expr else None
            if m:
                link = (f.field(m.group(1)) if f.is_table else spec.field(m.group(1)))
                if link is not None and link.type == "link" and link.to == to_form:
                    out.append(m.group(2))
    return out


def _is_field_path(spec, key: str) -> bool:
    head = key.split("[", 1)[0].split(".", 1)[0]
    return spec.field(head) is not None


@bp.route("/f/<form>/new", methods=["GET", "POST"])
@login_required
def new(form):
    spec = _spec(form)
    eng, user = engine(), acting_user()
    if not eng.can_create(user, form):
        abort(403)
    if request.method == "GET":
        values = eng.new_values(user, form)
        texts = fd.texts_of(eng, spec, values)
        for f in spec.tables:  # start with one blank row to type into
            if not texts.get(f.name):
                texts[f.name] = [{c.name: "" for c in f.fields}]
        return _editor(spec, texts, {})
    data = fd.parse_post(spec, request.form)
    try:
        rec = eng.create(user, form, data)
    except ValidationFailed as exc:
        return _editor(spec, fd.texts_from_post(spec, data), exc.fields, status=422, message=t("fix_errors"))
    flash("saved")
    return redirect(url_for("forms.record", form=form, record_id=rec.id))


@bp.route("/f/<form>/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def edit(form, record_id):
    spec = _spec(form)
    eng, user = engine(), acting_user()
    rec = eng.get(user, form, record_id)
    if request.method == "GET":
        return _editor(spec, fd.texts_of(eng, spec, rec.data), {}, record=rec)
    data = fd.parse_post(spec, request.form)
    try:
        version = int(request.form.get("version") or 0)
    except ValueError:
        abort(400)
    try:
        eng.update(user, form, record_id, data, version)
    except ValidationFailed as exc:
        return _editor(spec, fd.texts_from_post(spec, data), exc.fields, record=rec, status=422,
                       message=t("fix_errors"))
    except Conflict:
        return _editor(spec, fd.texts_from_post(spec, data), {}, record=eng.get(user, form, record_id),
                       status=409, message=t("version_conflict"))
    flash("saved")
    return redirect(url_for("forms.record", form=form, record_id=record_id))


# --- record page ------------------------------------------------------------------


def _record_page(spec, rec, status=200, message=None, action_errors=None):
    eng, user = engine(), acting_user()
    texts = fd.texts_of(eng, spec, rec.data)
    titles = fd.link_titles_for(eng, user, spec, texts)
    shown = []
    for f in spec.fields:
        v = rec.data.get(f.name)
        if f.is_table:
            rows = []
            for row in v or []:
                cells = []
                for c in f.fields:
                    cv = row.get(c.name)
                    cells.append(titles.get((c.to, str(cv)), f"#{cv}") if c.type == "link" and cv is not None
                                 else fd.display(eng, c, cv))
                rows.append(cells)
            shown.append({"f": f, "table": True, "columns": [label(c.label, c.name) for c in f.fields],
                          "rows": rows})
        elif f.name in rec.data:
            text = titles.get((f.to, str(v)), f"#{v}") if f.type == "link" and v is not None else fd.display(eng, f, v)
            link = url_for("forms.record", form=f.to, record_id=v) if f.type == "link" and v is not None else None
            shown.append({"f": f, "table": False, "text": text, "link": link})
    actions = available_actions(eng, user, rec)
    plain_actions = [a for a in actions if not a.get("needs_user") and not
                     (isinstance(a.get("to"), list) and len(a["to"]) > 1)]
    user_actions = [a for a in actions if a.get("needs_user")]
    step_actions = [a for a in actions if not a.get("needs_user") and isinstance(a.get("to"), list)
                    and len(a["to"]) > 1]
    history = eng.history(user, spec.id, rec.id)
    try:
        explain = eng.explain(user, rec) if rec.state else []
    except LoomError:
        explain = []
    wf = eng.defs.workflow_for(spec.id)
    step = wf.step(rec.state) if wf and rec.state else None
    users = [u.name for u in eng.users.all() if u.name != user.name]
    return render_template("record.html", alerts=_alert_why(eng, user, rec), spec=spec, rec=rec, shown=shown, title=fd.title_of(eng, rec),
                           plain_actions=plain_actions, user_actions=user_actions, step_actions=step_actions,
                           history=history, explain=explain, step=step, wf=wf, users=users,
                           can_edit=_can_edit(eng, user, rec), message=message,
                           action_errors=action_errors or {}), status


def _alert_why(eng, user, rec) -> list[dict]:
    """Per alert on this record's form: its condition now (with the values it sees) and the
    latest traces for this record, so "why didn't it fire?" has an answer on the page."""
    out = []
    for alert in eng.defs.alerts.values():
        if alert.form != rec.form:
            continue
        try:
            why = eng.explain_alert(user, alert.id, rec.id)
            traces = eng.alert_traces(user, alert=alert.id, record_id=rec.id, limit=5)
        except LoomError:  # the reader may not see this alert's traces
            continue
        out.append({"id": alert.id, "title": label(getattr(alert, "title", None), alert.id)
                    if getattr(alert, "title", None) else alert.id, "why": why, "traces": traces})
    return out


def _can_edit(eng, user, rec) -> bool:
    try:
        return bool(eng._can_edit_public(user, rec)) if hasattr(eng, "_can_edit_public") else _edit_guess(eng, user, rec)
    except LoomError:
        return False


def _edit_guess(eng, user, rec) -> bool:
    """Whether to show the Edit link; the engine still decides on save."""
    if user.is_admin:
        return True
    wf = eng.defs.workflow_for(rec.form)
    if wf is not None:
        step = wf.step(rec.state)
        return step is not None and any((w == "owner" and rec.owner == user.name) or w in user.roles
                                        for w in step.edit)
    perms = eng.defs.form(rec.form).permissions
    return not perms.update or bool(user.roles & set(perms.update))


@bp.get("/f/<form>/<int:record_id>")
@login_required
def record(form, record_id):
    spec = _spec(form)
    eng, user = engine(), acting_user()
    return _record_page(spec, eng.get(user, form, record_id))


@bp.post("/f/<form>/<int:record_id>/act")
@login_required
def act(form, record_id):
    spec = _spec(form)
    eng, user = engine(), acting_user()
    eng.get(user, form, record_id)  # 404 unless the user may read the record
    name = request.form.get("action") or ""
    if not re.match(r"^\w{1,64}$", name):
        abort(400)
    comment = (request.form.get("comment") or "").strip() or None
    to = (request.form.get("to") or "").strip() or None
    try:
        version = int(request.form.get("version")) if request.form.get("version") else None
    except ValueError:
        abort(400)
    try:
        eng.act(user, form, record_id, name, comment=comment, to=to, version=version)
    except ValidationFailed as exc:
        return _record_page(spec, eng.get(user, form, record_id), 422, exc.message, exc.fields)
    except (ActionRefused, Conflict) as exc:
        return _record_page(spec, eng.get(user, form, record_id), 409, exc.message)
    flash("done")
    try:
        eng.get(user, form, record_id)
    except NotFound:  # e.g. transferred away and no longer readable
        return redirect(url_for("inbox.index"))
    return redirect(url_for("forms.record", form=form, record_id=record_id))
