"""Every form's pages, generated from its definition: list, new, edit, record, actions, link picker."""
from __future__ import annotations

import re
import tempfile

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import ActionRefused, Conflict, LoomError, NotFound, PermissionDenied, ValidationFailed

from .. import formdata as fd
from .. import report_view
from ..auth import acting_user
from ..workflow_view import available_actions
from .common import engine, label, readable_forms, t

bp = Blueprint("forms", __name__)

PAGE_SIZE = 25
MAX_QUERY = 100


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
    for f in _filter_fields(spec):
        more, used = fd.field_type(engine(), f).list_filter(f, args)
        parts += more
        asked.update(used)
    return parts, asked


def _filter_fields(spec) -> list:
    """Indexed fields whose type offers a list filter."""
    eng = engine()
    return [f for f in (spec.field(n) for n in spec.indexes)
            if f is not None and fd.field_type(eng, f).filter_input is not None]


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
    shown = set(eng.readable_fields(user, form))  # a field the user may not see: no column,
    sortable = [n for n in _sortable(spec) if n in shown]  # no sort, no filter
    sort = request.args.get("sort") or ""
    if sort.lstrip("-") not in sortable:
        sort = ""
    try:
        page_no = max(1, min(int(request.args.get("page") or 1), 100000))
    except ValueError:
        page_no = 1
    page = eng.list(user, form, filter=" and ".join(parts) or None, order=sort or None,
                    limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    columns = [spec.field(n) for n in spec.indexes if spec.field(n) is not None and n != spec.title_field
               and n in shown]
    link_titles = {}
    for c in columns:
        for r in page.items:
            target = fd.field_type(eng, c).link_of(c, r.data.get(c.name))
            if target is not None and target not in link_titles:
                link_titles[target] = fd.record_title(eng, user, *target)
    labels = fd.WebLabels(link_titles)
    rows = [{"rec": r, "title": fd.title_of(eng, r),
             "cells": [fd.display(eng, c, r.data.get(c.name), labels) for c in columns]}
            for r in page.items]
    filters = [f for f in _filter_fields(spec) if f.name in shown]
    pages = max(1, (page.total + PAGE_SIZE - 1) // PAGE_SIZE)
    wf = eng.defs.workflow_for(form)
    template = "_list_results.html" if request.headers.get("HX-Request") and \
        request.headers.get("HX-Target") == "results" else "list.html"
    return render_template(template, spec=spec, rows=rows, columns=columns, total=page.total,
                           page=page_no, pages=pages, sort=sort, sortable=sortable, asked=asked,
                           filters=filters, can_create=eng.can_create(user, form), wf=wf,
                           filter_inputs={f.name: fd.field_type(eng, f).filter_input for f in filters},
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
    if fmt == "xlsx" and spec.tables:  # a sheet per table too: the whole workbook, then sent
        return Response(_workbook_chunks(eng, user, form), headers={
            "Content-Type": report_view.CONTENT_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{form}.{fmt}"'})
    return report_view.download(eng.export_stream(user, form), fmt, form)


def _workbook_chunks(eng, user, form):
    # Engine.export reads the records a page at a time (no cursor held open); the workbook
    # goes to a temporary file and out in chunks, so memory stays flat.
    with tempfile.TemporaryFile() as f:
        eng.export(user, form, "xlsx", f)
        f.seek(0)
        while chunk := f.read(report_view.FILE_CHUNK):
            yield chunk


def _filter_link_options(eng, user, filters) -> dict:
    out = {}
    for f in filters:
        to = fd.field_type(eng, f).link_form(f)
        if to is not None:
            out[f.name] = _options(eng, user, to, "")
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
    options = [(value, title) for value, title, _ in _options(eng, user, form, request.args.get("q") or "")]
    return render_template("_link_options.html", options=options, selected=selected, required=False)


# --- new / edit -----------------------------------------------------------------


def _editor(spec, texts, errors, record=None, status=200, message=None):
    eng, user = engine(), acting_user()
    titles = fd.link_titles_for(eng, user, spec, texts)
    # fields the user may not see get no widget; those they may not change are read-only
    widgets = fd.widgets(eng, user, spec, texts, errors, None, titles,
                         shown=set(eng.readable_fields(user, spec.id, record)),
                         editable=set(eng.editable_fields(user, spec.id, record)))
    link_options = {}
    for w in widgets:
        for cell in ([w] + list(w.get("template") or [])):
            if cell.get("to") and cell["to"] not in link_options:
                link_options[cell["to"]] = [(v, title) for v, title, _ in _options(eng, user, cell["to"], "")]
    users = [u.name for u in eng.users.all()]
    return render_template("form.html", spec=spec, widgets=widgets, errors=errors, record=record,
                           link_options=link_options, users=users, message=message,
                           general=[(k, v) for k, v in errors.items() if not _is_field_path(spec, k)]), status


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
    data = fd.parse_post(spec, request.form, eng, only=set(eng.editable_fields(user, form)))
    try:
        rec = eng.create(user, form, data)
    except ValidationFailed as exc:
        return _editor(spec, fd.texts_from_post(spec, data, eng), exc.fields, status=422, message=t("fix_errors"))
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
    data = fd.parse_post(spec, request.form, eng, only=set(eng.editable_fields(user, form, rec)))
    try:
        version = int(request.form.get("version") or 0)
    except ValueError:
        abort(400)
    try:
        eng.update(user, form, record_id, data, version)
    except ValidationFailed as exc:
        return _editor(spec, fd.texts_from_post(spec, data, eng), exc.fields, record=rec, status=422,
                       message=t("fix_errors"))
    except PermissionDenied as exc:
        return _editor(spec, fd.texts_from_post(spec, data, eng), exc.fields, record=rec, status=403,
                       message=exc.message)
    except Conflict:
        return _editor(spec, fd.texts_from_post(spec, data, eng), {}, record=eng.get(user, form, record_id),
                       status=409, message=t("version_conflict"))
    flash("saved")
    return redirect(url_for("forms.record", form=form, record_id=record_id))


# --- record page ------------------------------------------------------------------


def _record_page(spec, rec, status=200, message=None, action_errors=None):
    eng, user = engine(), acting_user()
    texts = fd.texts_of(eng, spec, rec.data)
    labels = fd.WebLabels(fd.link_titles_for(eng, user, spec, texts))
    shown = []
    for f in spec.fields:
        v = rec.data.get(f.name)
        if f.is_table:
            rows = [[fd.display(eng, c, row.get(c.name), labels) for c in f.fields] for row in v or []]
            shown.append({"f": f, "table": True, "columns": [label(c.label, c.name) for c in f.fields],
                          "rows": rows})
        elif f.name in rec.data:
            target = fd.field_type(eng, f).link_of(f, v)
            link = url_for("forms.record", form=target[0], record_id=v) if target else None
            shown.append({"f": f, "table": False, "text": fd.display(eng, f, v, labels), "link": link})
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
    fill = _fill_widgets(eng, user, spec, rec, plain_actions)
    return render_template("record.html", fill=fill, alerts=_alert_why(eng, user, rec), spec=spec, rec=rec, shown=shown, title=fd.title_of(eng, rec),
                           plain_actions=plain_actions, user_actions=user_actions, step_actions=step_actions,
                           history=history, explain=explain, step=step, wf=wf, users=users,
                           can_edit=_can_edit(eng, user, rec), can_delete=eng.can_delete(user, rec),
                           message=message,
                           action_errors=action_errors or {}), status


def _fill_widgets(eng, user, spec, rec, actions) -> list:
    """Inputs on the approver panel: the fields the step's `edit` lets this user fill while
    deciding (an approval step whose record they may not otherwise edit)."""
    wf = eng.defs.workflow_for(spec.id)
    step = wf.step(rec.state) if wf and rec.state else None
    if step is None or not step.is_approval or not actions:
        return []
    names = set(eng.editable_fields(user, spec.id, rec))
    if not names:
        return []
    texts = fd.texts_of(eng, spec, rec.data)
    return [w for w in fd.widgets(eng, user, spec, texts, {}, None, shown=names, editable=names)
            if not w.get("rows")]


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
    """Whether to show the Edit link: the engine's own rule (it decides again on save)."""
    try:
        return eng.can_edit(user, rec)
    except LoomError:
        return False


@bp.get("/f/<form>/<int:record_id>")
@login_required
def record(form, record_id):
    spec = _spec(form)
    eng, user = engine(), acting_user()
    return _record_page(spec, eng.get(user, form, record_id))


@bp.post("/f/<form>/<int:record_id>/delete")
@login_required
def delete(form, record_id):
    """Move the record to the trash; refused on the record page with the reason."""
    spec = _spec(form)
    eng, user = engine(), acting_user()
    eng.get(user, form, record_id)  # 404 unless the user may read the record
    try:
        version = int(request.form.get("version")) if request.form.get("version") else None
    except ValueError:
        abort(400)
    try:
        eng.delete(user, form, record_id, version)
    except PermissionDenied as exc:
        return _record_page(spec, eng.get(user, form, record_id), 403, exc.message)
    except (ActionRefused, Conflict) as exc:
        return _record_page(spec, eng.get(user, form, record_id), 409, exc.message)
    flash("deleted")
    return redirect(url_for("forms.listing", form=form))


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
    rec = eng.get(user, form, record_id)
    fields = set(eng.editable_fields(user, form, rec)) if any(
        k.startswith("f.") for k in request.form) else set()
    data = fd.parse_post(spec, request.form, eng, only=fields) if fields else None
    try:
        eng.act(user, form, record_id, name, comment=comment, to=to, version=version, data=data)
    except ValidationFailed as exc:
        return _record_page(spec, eng.get(user, form, record_id), 422, exc.message, exc.fields)
    except (ActionRefused, Conflict, PermissionDenied) as exc:
        return _record_page(spec, eng.get(user, form, record_id), exc.status, exc.message)
    flash("done")
    try:
        eng.get(user, form, record_id)
    except NotFound:  # e.g. transferred away and no longer readable
        return redirect(url_for("inbox.index"))
    return redirect(url_for("forms.record", form=form, record_id=record_id))
