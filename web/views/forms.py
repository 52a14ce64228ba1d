"""Every form's pages, generated from its definition: list, new, edit, record, actions, link picker."""
from __future__ import annotations

import re
import tempfile
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import ActionRefused, Conflict, LoomError, NotFound, PermissionDenied, ValidationFailed
from engine.fields.file import refs_of
from engine.records.service import SUMS_AHEAD

from .. import formdata as fd
from .. import flow_diagram
from .. import i18n
from .. import list_page as lp
from .. import report_view
from ..formatting import fmt_datetime, fmt_number
from ..auth import acting_user
from ..paging import page_number, past_the_end
from ..files import send_file_ref, wants_download, with_uploads
from ..workflow_view import available_actions
from .common import engine, label, lang, msg, readable_forms, t, zone

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


@bp.get("/f/<form>")
@login_required
def listing(form):
    spec = _spec(form)
    eng, user = engine(), acting_user()
    wf = eng.defs.workflow_for(form)
    shown = set(eng.readable_fields(user, form))  # a field the user may not see: no column,
    cols = [c for c in lp.columns(eng, spec, wf) if c.field is None or c.name in shown]  # no sort
    parts, asked = lp.filters(eng, spec, wf, cols, request.args)
    sortable = {c.name: c.sort for c in cols if c.sort}
    sort = request.args.get("sort") or ""
    if sort.lstrip("-") not in sortable:
        sort = ""
    order = (("-" if sort.startswith("-") else "") + sortable[sort.lstrip("-")]) if sort else None
    page_no = page_number(request.args)
    page = eng.list(user, form, filter=" and ".join(parts) or None, order=order,
                    limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE,
                    sums=[c.name for c in cols if c.total], capped_total=True)
    pages = max(1, (page.total + PAGE_SIZE - 1) // PAGE_SIZE)
    back = past_the_end(page_no, pages, "forms.listing", form=form)
    if back is not None:
        return back
    labels = fd.WebLabels(lp.link_titles(eng, user, cols, page.items))
    rows = [{"rec": r, "cells": [_cell(eng, spec, wf, c, r, labels) for c in cols]} for r in page.items]
    filters = [f for f in lp.filter_fields(eng, spec, cols) if f.name in shown]  # no filter
    template = "_list_results.html" if request.headers.get("HX-Request") and \
        request.headers.get("HX-Target") == "results" else "list.html"
    return render_template(template, spec=spec, rows=rows, cols=cols, total=page.total, totals=page.totals,
                           total_capped=page.total_capped, sums_cap=SUMS_AHEAD,
                           page=page_no, pages=pages, sort=sort, asked=asked,
                           filters=filters, can_create=eng.can_create(user, form), wf=wf,
                           filter_inputs={f.name: fd.field_type(eng, f).filter_input for f in filters},
                           link_options=_filter_link_options(eng, user, filters, request.args),
                           views=eng.saved_views(user, form),
                           link_forms={f.name: fd.field_type(eng, f).link_form(f) for f in filters},
                           view_query=_view_query(request.args))


def _cell(eng, spec, wf, col, rec, labels) -> dict:
    """One cell of the list: its text, and for the state its label and badge tone."""
    if col.field is not None:
        value = rec.data.get(col.name)
        # thousands separators in the reader's locale, money to the cent (a percent reads as one)
        if col.numeric and value is not None and col.field.type != "percent":
            return {"text": fmt_number(value, lang(), 2 if col.total else None)}
        return {"text": fd.display(eng, col.field, value, labels)}
    if col.name == "state":
        step = wf.step(rec.state) if wf and rec.state else None
        return {"text": label(step.title, rec.state) if step else (rec.state or ""),
                "tone": lp.state_tone(wf, rec.state)}
    if col.name == "number":
        return {"text": rec.number or f"#{rec.id}"}
    if col.name == "owner":
        return {"text": rec.owner}
    value = getattr(rec, col.name, None)
    return {"text": fmt_datetime(value, lang(), zone())}


def _view_query(args) -> str:
    """The list page's query string as a saved view keeps it (without the page number)."""
    return urlencode([(k, v) for k, v in args.items(multi=True) if k != "page" and v])


@bp.post("/f/<form>/views")
@login_required
def save_view(form):
    _spec(form)
    eng, user = engine(), acting_user()
    if request.form.get("delete"):
        try:
            eng.delete_view(user, form, int(request.form["delete"]))
        except (ValueError, NotFound):
            abort(404)
        return redirect(url_for("forms.listing", form=form))
    try:
        view = eng.save_view(user, form, request.form.get("name") or "", request.form.get("query") or "")
    except ValidationFailed:
        flash("view_needs_name")
        return redirect(url_for("forms.listing", form=form))
    flash("view_saved")
    return redirect(url_for("forms.listing", form=form) + ("?" + view["query"] if view["query"] else ""))


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


def _filter_link_options(eng, user, filters, args=None) -> dict:
    """A link filter's first options; the one chosen is always among them (the type-ahead box
    searches every record: /pick)."""
    out = {}
    for f in filters:
        to = fd.field_type(eng, f).link_form(f)
        if to is not None:
            opts = _options(eng, user, to, "")
            chosen = (args or {}).get(f"x.{f.name}") or ""
            if chosen and chosen not in {v for v, _t, _r in opts}:
                opts = [(chosen, fd.record_title(eng, user, to, chosen), None)] + opts
            out[f.name] = opts
    return out


def _options(eng, user, form: str, q: str, limit: int = 20) -> list[tuple[str, str]]:
    spec = eng.defs.forms.get(form)
    if spec is None:
        return []
    q = q.strip()[:MAX_QUERY]
    # the title, and the subtitle's text fields (a code finds a record, and so does its name)
    searched = [spec.title_field or "number"] + [
        n for n in spec.subtitle if spec.field(n) is not None and fd.field_type(eng, spec.field(n)).filter_input == "text"]
    flt = " or ".join(f"contains(lower({n}), lower({lit(q)}))" for n in searched) if q else None
    order = spec.title_field if spec.title_field and spec.field(spec.title_field) else None
    try:
        page = eng.list(user, form, filter=flt, order=order, limit=limit)
    except LoomError:
        return []
    return [(str(r.id), _picker_text(eng, spec, r), r) for r in page.items]


def _picker_title(eng, user, form: str, rid: str) -> str:
    try:
        return _picker_text(eng, eng.defs.form(form), eng.get(user, form, int(rid)))
    except (LoomError, ValueError):
        return f"#{rid}"


def _picker_text(eng, spec, rec) -> str:
    """A picker option: the record's title, then its subtitle fields (`subtitle:` in the form)."""
    title = fd.title_of(eng, rec)
    extra = []
    for n in spec.subtitle:
        f = spec.field(n)
        value = rec.data.get(n) if f is not None else None
        if f is None or value in (None, ""):
            continue
        extra.append(fmt_number(value, lang(), 2 if f.type == "money" else None) if f.type in lp.NUMERIC
                     else fd.display(eng, f, value))
    return f"{title} — {' · '.join(extra)}" if extra else title


def line_options_key(cell: dict) -> str:
    """Where a line picker's first options are kept: per table and `within` record."""
    return f"{cell['line_to']}|{cell.get('within_value') or ''}"


def _line_options(eng, user, target: str, within, needs_within: bool, q: str = ""):
    text = str(within or "").strip()
    rid = int(text) if text.isdigit() and len(text) < 19 else None
    if needs_within and rid is None:
        return []  # nothing to pick from until the record it belongs to is chosen
    try:
        return eng.line_options(user, target, rid, q)
    except LoomError:
        return []


@bp.get("/pick-line/<target>")
@login_required
def pick_line(target):
    """Options for a line picker: lines of `target` (FORM.TABLE) the user may read, only those of
    the record the `within` input (named by `within_input`) names; htmx swaps them in."""
    eng, user = engine(), acting_user()
    within_input = request.args.get("within_input") or ""
    within = request.args.get(within_input) if within_input else None
    options = _line_options(eng, user, target, within, bool(within_input),
                            (request.args.get("q") or "")[:MAX_QUERY])
    return render_template("_link_options.html", options=options,
                           selected=request.args.get("selected") or "", required=False)


@bp.get("/pick/<form>")
@login_required
def pick(form):
    """Options for a link picker (htmx swaps them into the <select>)."""
    eng, user = engine(), acting_user()
    if form not in eng.defs.forms:
        abort(404)
    selected = request.args.get("selected") or ""
    q = request.args.get("q") or request.args.get("pq") or ""  # pq: a list filter's type-ahead box
    options = [(value, title) for value, title, _ in _options(eng, user, form, q)]
    if selected and selected not in {v for v, _ in options}:  # what is chosen stays among the options
        options.insert(0, (selected, _picker_title(eng, user, form, selected)))
    return render_template("_link_options.html", options=options, selected=selected, required=False,
                           empty=t("any") if request.args.get("pq") is not None else t("select"))


# --- new / edit -----------------------------------------------------------------


def _source_title(eng, user, source: str | None) -> str | None:
    """`request:1,2` as a person reads it: `Supply request RQ-0001, RQ-0002`."""
    if not source:
        return None
    form, _, ids = source.partition(":")
    if form not in eng.defs.forms:
        return source
    titles = [fd.record_title(eng, user, form, rid) for rid in ids.split(",") if rid.strip()]
    return f"{label(eng.defs.forms[form].title, form)} {', '.join(titles)}"


def _editor(spec, texts, errors, record=None, status=200, message=None, source=None):
    eng, user = engine(), acting_user()
    titles = fd.link_titles_for(eng, user, spec, texts)
    # fields the user may not see get no widget; those they may not change are read-only
    widgets = [w for w in fd.widgets(eng, user, spec, texts, errors, None, titles,
                                     shown=set(eng.readable_fields(user, spec.id, record)),
                                     editable=set(eng.editable_fields(user, spec.id, record)))
               if not _unset_workflow_field(spec, w, record)]
    for w in widgets:  # a table left with no rows (all blank, or none typed yet) gets one to type into
        if w.get("type") == "table" and not w.get("rows") and w.get("template"):
            w["rows"] = [[dict(cell, id=cell["id"].replace("__i__", "0"), input=cell["input"].replace("__i__", "0"),
                               path=cell["path"].replace("__i__", "0")) for cell in w["template"]]]
        if w.get("type") == "table" and record is None:  # cells only the workflow fills: not yet
            _drop_workflow_cells(spec.field(w["name"]), w)
    link_options = {}
    for w in widgets:
        for cell in ([w] + list(w.get("template") or []) + [c for r in w.get("rows") or [] for c in r]):
            if cell.get("to") and cell["to"] not in link_options:
                link_options[cell["to"]] = [(v, title) for v, title, _ in _options(eng, user, cell["to"], "")]
            if cell.get("line_to"):
                key = line_options_key(cell)
                if key not in link_options:
                    link_options[key] = _line_options(eng, user, cell["line_to"],
                                                      cell.get("within_value"), bool(cell.get("within")))
    users = [u.name for u in eng.users.all()]
    return render_template("form.html", spec=spec, widgets=widgets, errors=errors, record=record,
                           link_options=link_options, users=users, message=message,
                           source=_source_title(eng, user, source),
                           general=[(k, v) for k, v in errors.items() if not _is_field_path(spec, k)]), status


def _unset_workflow_field(spec, w, record) -> bool:
    """A field only the workflow fills (readonly and not computed, or computed from such a
    field, like a roll-up of handed-over quantities): nothing to show or type on a new record, nor
    on an edit until it has a value."""
    f = spec.field(w["name"])
    if f is None or f.is_table or not _workflow_only(spec.fields, f):
        return False
    return record is None or w["value"] in ("", None, [])


def _drop_workflow_cells(table, w) -> None:
    """A new record's line items without the columns only the workflow fills (done, handed over, ...)."""
    keep = [i for i, c in enumerate(table.fields) if not _workflow_only(table.fields, c)]
    if len(keep) == len(table.fields):
        return
    w["columns"] = [w["columns"][i] for i in keep]
    w["rows"] = [[row[i] for i in keep] for row in w.get("rows") or []]
    if w.get("template"):
        w["template"] = [w["template"][i] for i in keep]


def _workflow_only(fields, f, seen=frozenset()) -> bool:
    """Whether the workflow gives `f` its value: readonly and not computed, or computed from at
    least one such field (`done_qty * price` is nothing until the workflow counts something); a table's
    cells are followed through `lines.x`, a link hop is never the workflow's."""
    if not f.readonly or id(f) in seen:  # by identity: a table's cell may share a name
        return False
    if f.compute is None:
        return True
    by_name = {x.name: x for x in fields}
    for path in f.compute.paths():
        head = by_name.get(path[0])
        if head is None:
            continue
        if head.is_table and len(path) == 2:
            cell = next((c for c in head.fields if c.name == path[1]), None)
            if cell is not None and _workflow_only(head.fields, cell, seen | {id(f)}):
                return True
        elif len(path) == 1 and _workflow_only(fields, head, seen | {id(f)}):
            return True
    return False


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
    source = request.args.get("from") or None  # made from other records (make_from)
    if request.method == "GET":
        values = eng.new_from(user, form, source).values if source else eng.new_values(user, form)
        texts = fd.texts_of(eng, spec, values)
        for f in spec.tables:  # start with one blank row to type into
            if not texts.get(f.name):
                texts[f.name] = [{c.name: "" for c in f.fields}]
        return _editor(spec, texts, {}, source=source)
    try:
        data = fd.parse_post(spec, with_uploads(eng, user, spec, request.form, request.files), eng,
                             only=set(eng.editable_fields(user, form)))
    except ValidationFailed as exc:
        return _editor(spec, fd.texts_from_post(spec, fd.parse_post(spec, request.form, eng), eng),
                       exc.fields, status=422, message=t("fix_errors"), source=source)
    try:
        rec = eng.create(user, form, data, source=source)
    except ValidationFailed as exc:
        return _editor(spec, fd.texts_from_post(spec, data, eng), exc.fields, status=422,
                       message=t("fix_errors"), source=source)
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
    try:
        data = fd.parse_post(spec, with_uploads(eng, user, spec, request.form, request.files), eng,
                             only=set(eng.editable_fields(user, form, rec)))
    except ValidationFailed as exc:
        return _editor(spec, fd.texts_from_post(spec, fd.parse_post(spec, request.form, eng), eng),
                       exc.fields, record=rec, status=422, message=t("fix_errors"))
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
            # a column no line uses (details only some lines need) is left out
            keep = [i for i, c in enumerate(f.fields) if c.visible_if is None or any(r[i] not in ("", None) for r in rows)]
            shown.append({"f": f, "table": True, "columns": [label(f.fields[i].label, f.fields[i].name) for i in keep],
                          "rows": [[r[i] for i in keep] for r in rows]})
        elif f.readonly and f.compute is None and rec.data.get(f.name) in (None, "", []):
            continue  # set by the workflow, not yet
        elif f.name in rec.data:
            ftype = fd.field_type(eng, f)
            target = ftype.link_of(f, v) if ftype.line_target(f) is None else None
            link = url_for("forms.record", form=target[0], record_id=v) if target else None
            shown.append({"f": f, "table": False, "text": fd.display(eng, f, v, labels), "link": link,
                          "files": _files_of(spec, rec, f, v)})
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
    people = [u.name for u in eng.users.all()]
    for a in user_actions:  # each picker offers only who can take it (the engine says who not)
        a["people"] = [p for p in people if p not in a.get("not_offered", ())]
    users = [p for p in people if p != user.name]
    make = [(fid, t("make_from").format(form=label(eng.defs.forms[fid].title, fid)),
             url_for("forms.new", form=fid, **{"from": f"{spec.id}:{rec.id}"}))
            for fid in eng.make_targets(user, rec)]
    fill = _fill_widgets(eng, user, spec, rec, plain_actions)
    flow = _flow(eng, user, rec, wf, history, explain)
    # the event that created the record lists no changes (its values are the record itself)
    titles = fd.history_titles(eng, user, spec, [ev.diff for ev in history if ev.action != "create"])
    return render_template("record.html", flow=flow, fill=fill, alerts=_alert_why(eng, user, rec), spec=spec, rec=rec, shown=shown, title=fd.title_of(eng, rec),
                           plain_actions=plain_actions, user_actions=user_actions, step_actions=step_actions,
                           history=[_history_line(ev, wf) for ev in history],
                           history_changes=lambda d: fd.history_changes(eng, spec, d, titles),
                           explain=explain, step=step, wf=wf, users=users,
                           can_edit=_can_edit(eng, user, rec), can_delete=eng.can_delete(user, rec),
                           message=message, make=make,
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


def _step_name(wf, name: str | None) -> str:
    st = wf.step(name) if wf is not None and name else None
    return label(st.title, name) if st is not None and getattr(st, "title", None) else (name or "")


def _history_line(ev, wf) -> dict:
    """One history event as people read it: step labels for the move, a sentence for what a
    built-in action did (who it went to)."""
    d = ev.detail or {}
    note = ""
    if ev.action == "transfer" and d.get("to"):
        note = t("history_transfer", to=d["to"])
    elif ev.action == "add_signer" and d.get("signer"):
        where = "before" if d.get("where") == "before" else "after"
        note = t(f"history_add_signer_{where}", who=d["signer"])
    elif ev.action == "cc" and d.get("to"):
        note = t("history_cc", to=d["to"])
    elif d.get("waiting_for"):
        note = t("history_waiting", who=d["waiting_for"])
    moved = ev.from_state != ev.to_state and (ev.from_state or ev.to_state)
    return {"ev": ev, "label": i18n.action_label(ev.action, lang(), workflow=wf), "note": note,
            "from": _step_name(wf, ev.from_state) if moved else "",
            "to": _step_name(wf, ev.to_state) if moved else ""}


def _flow(eng, user, rec, wf, history, explain) -> dict | None:
    """The workflow diagram and its summary in words: the current step, who holds it, what
    comes next and who would take it."""
    if wf is None or not rec.state:
        return None

    def step_label(name):
        st = wf.step(name)
        return label(st.title, name) if st is not None and st.title else name

    try:
        tasks = eng.step_tasks(user, rec)
    except LoomError:
        tasks = []
    holding = [tk.assignee for tk in tasks if tk.status in ("open", "waiting")]
    decided = [(tk.assignee, tk.decision) for tk in tasks if tk.decision]
    step = wf.step(rec.state)
    nexts: dict[str, list[str]] = {}
    for action in (step.actions.values() if step else ()):
        if action.name in ("reject", "return", "discard", "withdraw"):
            continue  # the way forward, not every way out
        for b in action.branches:
            nexts.setdefault(b.to, [])
    for e in explain or []:
        if e.get("next") in nexts:
            for a in e.get("approvers") or []:
                if a.get("user") and a["user"] not in nexts[e["next"]]:
                    nexts[e["next"]].append(a["user"])
    tones = {n: "bad" for n in wf.steps if lp.state_tone(wf, n) == "bad"}
    nodes = flow_diagram.build(wf, rec.state, history, step_label, holders=", ".join(holding),
                               next_steps={n: ", ".join(u) for n, u in nexts.items()}, tones=tones)
    return {"svg": flow_diagram.svg(nodes, t("flow")), "now": step_label(rec.state), "holding": holding,
            "decided": decided, "next": [(step_label(n), u) for n, u in nexts.items()],
            "final": bool(step and (step.final or not step.actions))}


def _files_of(spec, rec, f, value) -> list[dict] | None:
    """A file field's files on the record page: name, size, link, and whether to show it as an image."""
    if f.type != "file":
        return None
    return [{"name": r.get("name", ""), "size": r.get("size"), "image": str(r.get("type", "")).startswith("image/"),
             "url": url_for("forms.file", form=spec.id, record_id=rec.id, sha256=r["sha256"])}
            for r in refs_of(value) if r.get("sha256")]


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
    where = (request.form.get("where") or "").strip()
    if name == "add_signer" and to and where in ("before", "after"):
        to = f"{where}:{to}"
    try:
        eng.act(user, form, record_id, name, comment=comment, to=to, version=version, data=data)
    except ValidationFailed as exc:
        # Post/Redirect/Get: the error shows on the record page, whose URL reloads safely
        flash(" ".join(msg(v) for v in exc.fields.values()) or msg(exc.message), "error")
        return redirect(url_for("forms.record", form=form, record_id=record_id), 303)
    except (ActionRefused, Conflict, PermissionDenied) as exc:
        flash(i18n.refusal(exc, lang()), "error")
        return redirect(url_for("forms.record", form=form, record_id=record_id), 303)
    flash("done")
    try:
        eng.get(user, form, record_id)
    except NotFound:  # e.g. transferred away and no longer readable
        return redirect(url_for("inbox.index"))
    return redirect(url_for("forms.record", form=form, record_id=record_id))


@bp.get("/f/<form>/<int:record_id>/files/<sha256>")
@login_required
def file(form, record_id, sha256):
    """A file of the record, for whoever may read the record (web/files.py sets the headers)."""
    _spec(form)
    ref, content = engine().file(acting_user(), form, record_id, sha256)
    return send_file_ref(ref, content, download=wants_download())


@bp.get("/f/<form>/<int:record_id>/print")
@login_required
def print_view(form, record_id):
    """The record as a printable document (print CSS): letterhead, fields, lines, totals, signatures."""
    spec = _spec(form)
    eng, user = engine(), acting_user()
    rec = eng.get(user, form, record_id)
    texts = fd.texts_of(eng, spec, rec.data)
    labels = fd.WebLabels(fd.link_titles_for(eng, user, spec, texts))
    fields, totals, tables = [], [], []
    for f in spec.fields:
        v = rec.data.get(f.name)
        if f.is_table:
            cols = [c for c in f.fields if c.type != "file" and any(
                (row or {}).get(c.name) not in (None, "", []) for row in v or [])]
            tables.append({"label": label(f.label, f.name),
                           "columns": [(label(c.label, c.name), c.type in lp.NUMERIC) for c in cols],
                           "rows": [[_print_value(eng, c, (row or {}).get(c.name), labels) for c in cols]
                                    for row in v or []]})
        elif v in (None, "", []) or f.type == "file":
            continue
        elif f.type == "money":
            totals.append((label(f.label, f.name), _print_value(eng, f, v, labels)))
        else:
            fields.append((label(f.label, f.name), _print_value(eng, f, v, labels)))
    wf = eng.defs.workflow_for(form)
    step = wf.step(rec.state) if wf and rec.state else None
    approvals = [(ev.actor, _step_title(wf, ev.from_state), ev.at) for ev in eng.history(user, form, record_id)
                 if ev.action == "approve"]
    app = eng.defs.app
    return render_template("print.html", spec=spec, rec=rec, title=fd.title_of(eng, rec), fields=fields,
                           totals=totals, tables=tables, approvals=approvals, letterhead=app.letterhead,
                           state=label(step.title, rec.state) if step else rec.state)


def _print_value(eng, f, value, labels) -> str:
    if f.type in lp.NUMERIC and value not in (None, ""):
        return fmt_number(value, lang(), 2 if f.type == "money" else None)
    return fd.display(eng, f, value, labels)


def _step_title(wf, name):
    st = wf.step(name) if wf and name else None
    return label(st.title, name) if st is not None else (name or "")
