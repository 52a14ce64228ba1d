"""Records of one form: create, list, read (with actions), update, act, history, explain, import."""
from __future__ import annotations

import io
import json

from flask import current_app, jsonify, request

from engine.errors import BadParameter, BadRequest, ValidationFailed

from ..auth import acting_user, engine
from ..files import send_file_ref, wants_download
from ..openapi import data_schema
from ..shapes import plain, utc_marker
from ..workflow_view import action_names, available_actions
from . import MAX_LIMIT, _hygiene, bp, body, int_arg, page_text


def _form(form: str):
    return engine().defs.form(form)  # NotFound → 404


class Markers:
    """Each form's `utc_marker`, worked out once per definitions snapshot (one per app: tests
    run several engines in one process); a reload brings new form specs, so a new marker."""

    def __init__(self):
        self._hits: dict = {}
        self._renders: dict = {}

    def render(self, eng, form_id: str, encode):
        """The function giving one list item's JSON text as `encode` (a C encoder,
        web/hot_routes.py) writes it, its date-times marked: one per marker and encoder, so a
        row rendered before is found again (engine/records/listing.py `Pages.rendered`)."""
        key = (self.of(eng, form_id), encode)
        hit = self._renders.get(key)
        if hit is None:
            if len(self._renders) >= 256:  # reloads leave old markers behind: start over
                self._renders.clear()
            hit = self._renders[key] = item_renderer(*key)
        return hit

    def of(self, eng, form_id: str):
        form, registries = eng.defs.form(form_id), eng.registries
        hit = self._hits.get(form_id)
        if hit is None or hit[0] is not form or hit[1] is not registries:
            hit = self._hits[form_id] = (form, registries, utc_marker(data_schema(form, registries)))
        return hit[2]


def item_renderer(marker, encode):
    """`render(item)`: one item's JSON text as `encode` writes it, its record values'
    date-times marked first when there is a `marker`."""
    def render(item: dict) -> str:
        if marker is not None:
            item["data"] = marker(item["data"])
        return "".join(encode(item, 0))
    return render


def markers() -> Markers:
    """The app's markers (web/app.py keeps them in `app.extensions`)."""
    return current_app.extensions["loom.utc_markers"]


def _marked(form_id: str, values):
    """A form's values with their date-times marked UTC (the form's cached marker)."""
    marker = markers().of(engine(), form_id)
    return values if marker is None else marker(values)


def record_json(rec, marker) -> dict:
    """A record as the API answers it: date-time values with their UTC offset (`marker`: the
    form's, from `Markers.of`)."""
    out = rec.to_json()
    if marker is not None:
        out["data"] = marker(out["data"])
    return out


def record_with_actions(rec, eng=None, user=None, marks: Markers | None = None) -> dict:
    """The record with what the user may do next (actions, forms to make, delete): its reads
    share one read transaction (a GET's is already open; after an action, the action's own:
    `action_request`; after another write, a fresh one that sees it). `eng`, `user`, `marks`:
    the request's, when called outside Flask's (web/hot_routes.py)."""
    eng = eng or engine()
    user = user or acting_user()
    out = record_json(rec, (marks or markers()).of(eng, rec.form))
    with eng.db.read_scope():
        out["actions"] = action_names(available_actions(eng, user, rec))
        out["make"] = eng.make_targets(user, rec)
        out["deletable"] = eng.can_delete(user, rec)
    return out


def _source(payload: dict | None = None) -> str | None:
    """`?from=FORM:ID[,ID...]` or `"from"` in the body: the records a new one is made from."""
    source = request.args.get("from") or (payload or {}).get("from")
    if source is not None and not isinstance(source, str):
        raise ValidationFailed({"from": "expected FORM:ID or FORM:ID,ID,..."},
                               "\"from\" must be text like request:12")
    return source or None


def _data(payload: dict) -> dict:
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValidationFailed({"data": "must be an object of field values"},
                               "\"data\" must be an object of field values")
    return data


def _version(payload: dict, required: bool) -> int | None:
    v = payload.get("version")
    if v is None and not required:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValidationFailed({"version": "the version you edited is required (an integer)"},
                               "\"version\" must be the integer version you read")
    return v


def _payload(form: str) -> dict:
    """The JSON body; or, as multipart/form-data, a `payload` part holding that JSON plus one
    part per file, named by its file field (several parts for a `multiple: true` field)."""
    if request.mimetype != "multipart/form-data":
        return body()
    try:
        payload = json.loads(request.form.get("payload") or "{}")
    except ValueError:
        raise BadRequest("the \"payload\" part must be a JSON object") from None
    if not isinstance(payload, dict):
        raise BadRequest("the \"payload\" part must be a JSON object")
    problems: dict[str, str] = {}
    _hygiene(payload, "", problems)
    if problems:
        raise ValidationFailed(problems)
    data = payload.setdefault("data", {})
    if not isinstance(data, dict):
        return payload
    eng, user = engine(), acting_user()
    for name in request.files:
        field = eng.defs.form(form).field(name)
        refs = [eng.upload(user, form, name, f.filename, f.read())
                for f in request.files.getlist(name) if f and f.filename]
        if field is not None and field.multiple:
            kept = data.get(name) if isinstance(data.get(name), list) else []
            data[name] = kept + refs
        elif refs:
            data[name] = refs[-1]
    return payload


@bp.post("/forms/<form>/records")
def record_create(form):
    _form(form)
    payload = _payload(form)
    source = _source(payload)
    data = _data(payload) if "data" in payload or not source else {}  # made from: data optional
    rec = engine().create(acting_user(), form, data, source=source)
    resp = jsonify(record_with_actions(rec))
    resp.status_code = 201
    resp.headers["Location"] = f"/api/forms/{form}/records/{rec.id}"
    return resp


@bp.get("/forms/<form>/new")
def record_new(form):
    """The draft of a new record: with `from=FORM:ID[,ID...]` prefilled from those records
    (`make_from`), else the form's defaults; as a preview (values, visible, required,
    errors). Writes nothing."""
    _form(form)
    eng, user = engine(), acting_user()
    source = _source()
    draft = eng.new_from(user, form, source) if source else eng.preview(user, form, {})
    out = draft.to_json()
    out["values"] = _marked(form, out["values"])
    if source:
        out["from"] = source
    return jsonify(out)


@bp.get("/forms/<form>/tables/<table>/lines")
def line_options(form, table):
    """Lines of `form`'s table `table` for a line picker: `{"items": [{"id", "title"}]}`, only
    lines of records you may read; `within=ID` only that record's, `q` matches its number."""
    _form(form)
    within = int_arg("within", 0, 0, 2**63 - 1) or None
    items = engine().line_options(acting_user(), f"{form}.{table}", within,
                                  (request.args.get("q") or "")[:100], int_arg("limit", 20, 0, 100))
    return jsonify({"items": [{"id": lid, "title": title} for lid, title in items]})


@bp.post("/forms/<form>/preview")
def record_preview(form):
    """What saving `data` would store (new record, or an edit of `id`): values, visible, required,
    errors. Writes nothing; a draft with errors is still a 200 (the errors are the answer)."""
    _form(form)
    payload = body()
    rid = payload.get("id")
    if rid is not None and (not isinstance(rid, int) or isinstance(rid, bool)):
        raise ValidationFailed({"id": "must be an integer record id"},
                               "\"id\" must be the integer id of the record you edit")
    out = engine().preview(acting_user(), form, _data(payload), record_id=rid).to_json()
    out["values"] = _marked(form, out["values"])
    return jsonify(out)


@bp.get("/forms/<form>/records")
def record_list(form):
    return jsonify(list_page(engine(), acting_user(), markers(), form, request.args))


def list_page(eng, user, marks: Markers, form: str, args) -> dict:
    """A page of `form`'s records as GET /api/forms/{form}/records answers it (`args`: the
    query parameters, anything with `.get`)."""
    eng.defs.form(form)  # NotFound → 404
    page = eng.list(user, form, filter=args.get("filter") or None, order=args.get("order") or None,
                    limit=int_arg("limit", 50, 0, MAX_LIMIT, args),
                    offset=int_arg("offset", 0, 0, 10**9, args), capped_total=not exact_total(args),
                    as_json=True)
    marker = marks.of(eng, form)
    if marker is not None:
        for item in page.items:
            item["data"] = marker(item["data"])
    return {"items": page.items, "total": page.total, "total_capped": page.total_capped}


def list_page_text(eng, user, marks: Markers, form: str, args, encode) -> str:
    """`list_page`'s answer as the JSON text `encode` (the C encoder of the app's compact
    settings, web/hot_routes.py) writes for it: the same checks, the same bytes; each item
    rendered by the engine, which gives a row read again unchanged the text it gave before."""
    eng.defs.form(form)  # NotFound → 404
    texts, total, capped = eng.list_rendered(
        user, form, filter=args.get("filter") or None, order=args.get("order") or None,
        limit=int_arg("limit", 50, 0, MAX_LIMIT, args), offset=int_arg("offset", 0, 0, 10**9, args),
        capped_total=not exact_total(args), render=marks.render(eng, form, encode))
    return page_text(texts, total, capped)


def exact_total(args) -> bool:
    """`?total=exact` counts every matching record; the default (`total=capped`) stops 1,000
    records past the page, so a page costs the same however large the form grows."""
    raw = args.get("total") or "capped"
    if raw not in ("capped", "exact"):
        raise BadParameter("total must be capped or exact", "total", "must be capped or exact")
    return raw == "exact"


@bp.get("/forms/<form>/records/<int:record_id>")
def record_get(form, record_id):
    return jsonify(read_record(engine(), acting_user(), markers(), form, record_id))


def read_record(eng, user, marks: Markers, form: str, record_id: int) -> dict:
    """GET /api/forms/{form}/records/{id}: the record with its actions (404 when unreadable)."""
    eng.defs.form(form)  # NotFound → 404
    return record_with_actions(eng.get(user, form, record_id), eng, user, marks)


@bp.patch("/forms/<form>/records/<int:record_id>")
def record_update(form, record_id):
    _form(form)
    eng, user = engine(), acting_user()
    eng.get(user, form, record_id)  # unreadable → 404 before any validation message leaks
    payload = _payload(form)
    rec = eng.update(user, form, record_id, _data(payload), _version(payload, required=True))
    return jsonify(record_with_actions(rec))


@bp.post("/forms/<form>/records/<int:record_id>/actions/<name>")
def record_act(form, record_id, name):
    _form(form)
    payload = request.get_json(silent=True)
    if payload is None and not request.get_data():
        payload = {}
    if not isinstance(payload, dict):
        raise BadRequest("expected a JSON object body")
    act = action_request(engine(), acting_user(), form, record_id, name, payload)
    return jsonify(act(record_with_actions))


def action_request(eng, user, form: str, record_id: int, name: str, payload: dict):
    """Check an action's JSON body; raises before anything is written. The callable it returns
    does the action and gives the record afterwards (an unreadable record: its 404, the same
    as a missing one, before anything else about the action is looked at). `user` is the
    acting User, or a function giving it that `act` calls first inside the action's write
    transaction (the hot route reads the token there: see web/hot_routes.py)."""
    comment, to = payload.get("comment"), payload.get("to")
    if comment is not None and not isinstance(comment, str):
        raise ValidationFailed({"comment": "must be text"}, "\"comment\" must be text")
    if to is not None and not isinstance(to, (str, list)):
        raise ValidationFailed({"to": "must be a user name or a step"},
                               "\"to\" must be a user name (or a step for return)")
    data = payload.get("data")
    if data is not None and not isinstance(data, dict):
        raise ValidationFailed({"data": "must be an object of field values"},
                               "\"data\" must be an object of field values")
    acting = user if callable(user) else lambda: user
    try:
        version = _version(payload, required=False)
    except ValidationFailed:
        eng.get(acting(), form, record_id)  # unreadable → 404 before the version's message
        raise
    # a readable version: `act` reads the record first of all, under its lock, and answers an
    # unreadable one with the same 404 (`RecordReader.get`), so nothing reads it before

    def act(answer):
        """The action, then `answer(the record afterwards)` in the action's own transaction:
        its reads see the action, the record and the step's tasks as the action left them,
        under the record's lock (no second transaction, no record read again). A failure of
        `answer` undoes nothing: it is raised once the action is committed."""
        failed = None
        with eng.db.write():
            rec = eng.act(acting(), form, record_id, name, comment=comment, to=to,
                          version=version, data=data or None)
            try:
                with eng.db.aside():
                    out = answer(rec)
            except Exception as exc:  # noqa: BLE001 - raised below, after the commit
                failed = exc
        if failed is not None:
            raise failed
        return out
    return act


@bp.delete("/forms/<form>/records/<int:record_id>")
def record_delete(form, record_id):
    """Soft delete into the trash: 204; 403 not permitted (or the step allows no deleting),
    409 linked from other records or a stale version, each with a `reason`."""
    _form(form)
    payload = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(payload, dict):
        raise BadRequest("expected a JSON object body (or none)")
    comment = payload.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ValidationFailed({"comment": "must be text"}, "\"comment\" must be text")
    engine().delete(acting_user(), form, record_id, _version(payload, required=False), comment)
    return "", 204


@bp.get("/forms/<form>/records/<int:record_id>/history")
def record_history(form, record_id):
    _form(form)
    events = engine().history(acting_user(), form, record_id)
    return jsonify({"items": [e.to_json() for e in events]})


@bp.get("/forms/<form>/records/<int:record_id>/explain")
def record_explain(form, record_id):
    _form(form)
    eng, user = engine(), acting_user()
    rec = eng.get(user, form, record_id)
    return jsonify({"state": rec.state, "actions": plain(eng.explain(user, rec))})


@bp.post("/forms/<form>/import")
def record_import(form):
    """CSV or XLSX (multipart field "file", or the raw body): all rows or none."""
    eng, user = engine(), acting_user()
    eng.defs.form(form.split(".", 1)[0])
    upload = request.files.get("file")
    if upload is not None:
        content, filename = upload.read(), upload.filename or "upload.csv"
    else:
        xlsx = "spreadsheet" in (request.mimetype or "") or request.get_data()[:2] == b"PK"
        content, filename = request.get_data(), "upload." + ("xlsx" if xlsx else "csv")
    if not content:
        raise BadRequest("send a CSV or XLSX file (multipart field \"file\" or the request body)")
    dry_run = (request.args.get("dry_run") or "").lower() in ("1", "true", "yes")
    try:
        result = eng.import_file(user, form, io.BytesIO(content), dry_run=dry_run, filename=filename)
    except (ValueError, KeyError, UnicodeDecodeError) as exc:  # unreadable file
        raise BadRequest(f"cannot read the file: {exc}") from None
    if result.errors:
        fields = {}
        for e in result.errors:
            key = f"{e.sheet} row {e.row}" + (f": {e.column}" if e.column else "")
            fields[key] = e.message if key not in fields else fields[key] + "; " + e.message
        raise ValidationFailed(fields,
                               f"{len(result.errors)} problem(s) in {result.rows} row(s); nothing imported")
    return jsonify({"form": form, "rows": result.rows, "created": result.created, "updated": result.updated,
                    "dry_run": dry_run}), (200 if dry_run else 201)


# --- files (uxpages) ------------------------------------------------------------------


@bp.post("/forms/<form>/files/<path:field>")
def file_upload(form, field):
    """Multipart `file` part(s) for file field `field` (`photo`, `lines.drawing`): stored, and
    their references `{name, size, sha256, type}` returned to put in a record's data."""
    _form(form)
    uploads = [f for f in request.files.getlist("file") if f and f.filename]
    if not uploads:
        raise BadRequest("send the file as multipart/form-data in a part named \"file\"")
    eng, user = engine(), acting_user()
    refs = [eng.upload(user, form, field, f.filename, f.read()) for f in uploads]
    resp = jsonify({"files": refs})
    resp.status_code = 201
    return resp


@bp.get("/forms/<form>/records/<int:record_id>/files/<sha256>")
def file_download(form, record_id, sha256):
    """A file the record holds, for whoever may read the record (images inline, the rest as
    attachments; `?download=1` always as an attachment)."""
    _form(form)
    ref, content = engine().file(acting_user(), form, record_id, sha256)
    return send_file_ref(ref, content, download=wants_download())
