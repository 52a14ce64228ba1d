"""Records of one form: create, list, read (with actions), update, act, history, explain, import."""
from __future__ import annotations

import io

from flask import jsonify, request

from engine.errors import BadRequest, ValidationFailed

from ..auth import acting_user, engine
from ..openapi import data_schema
from ..shapes import plain, utc_marked
from ..workflow_view import action_names, available_actions
from . import MAX_LIMIT, bp, body, int_arg


def _form(form: str):
    return engine().defs.form(form)  # NotFound → 404


def record_json(rec, schema: dict | None = None) -> dict:
    """A record as the API answers it: date-time values with their UTC offset."""
    out = rec.to_json()
    if schema is None:
        schema = data_schema(engine().defs.form(rec.form), engine().registries)
    out["data"] = utc_marked(schema, out["data"])
    return out


def record_with_actions(rec) -> dict:
    out = record_json(rec)
    out["actions"] = action_names(available_actions(engine(), acting_user(), rec))
    out["deletable"] = engine().can_delete(acting_user(), rec)
    return out


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


@bp.post("/forms/<form>/records")
def record_create(form):
    _form(form)
    rec = engine().create(acting_user(), form, _data(body()))
    resp = jsonify(record_with_actions(rec))
    resp.status_code = 201
    resp.headers["Location"] = f"/api/forms/{form}/records/{rec.id}"
    return resp


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
    out["values"] = utc_marked(data_schema(engine().defs.form(form), engine().registries), out["values"])
    return jsonify(out)


@bp.get("/forms/<form>/records")
def record_list(form):
    _form(form)
    page = engine().list(acting_user(), form, filter=request.args.get("filter") or None,
                         order=request.args.get("order") or None,
                         limit=int_arg("limit", 50, 0, MAX_LIMIT), offset=int_arg("offset", 0, 0, 10**9))
    schema = data_schema(engine().defs.form(form), engine().registries)
    return jsonify({"items": [record_json(r, schema) for r in page.items], "total": page.total})


@bp.get("/forms/<form>/records/<int:record_id>")
def record_get(form, record_id):
    _form(form)
    return jsonify(record_with_actions(engine().get(acting_user(), form, record_id)))


@bp.patch("/forms/<form>/records/<int:record_id>")
def record_update(form, record_id):
    _form(form)
    payload = body()
    eng, user = engine(), acting_user()
    eng.get(user, form, record_id)  # unreadable → 404 before any validation message leaks
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
    eng, user = engine(), acting_user()
    eng.get(user, form, record_id)
    rec = eng.act(user, form, record_id, name, comment=comment, to=to,
                  version=_version(payload, required=False), data=data or None)
    return jsonify(record_with_actions(rec))


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
