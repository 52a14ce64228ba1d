"""Batch import per form: download a template, dry-run an upload (every bad row, with why), import.

The real import runs every dry-run check again and commits all rows or none
(`Engine.import_file`, engine/io). The page keeps no upload on the server: the
browser posts the same file twice (htmx keeps the file input filled), so any
number of web processes agree and nothing is left behind.
"""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import login_required

from engine.errors import LoomError, NotFound, PermissionDenied

from ..auth import acting_user
from .common import engine, lang

bp = Blueprint("imports", __name__)

MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
EXTENSIONS = (".csv", ".xlsx", ".xlsm")


def _spec_for_create(form: str):
    """The form, when the user may create its records (import only creates); 404/403 otherwise."""
    eng, user = engine(), acting_user()
    try:
        spec = eng.defs.form(form)
    except NotFound:
        abort(404)
    if not eng.can_create(user, form):
        abort(403)
    return spec


def _page(spec, result=None, error=None, status=200, filename=None):
    fragment = request.headers.get("HX-Request") and request.headers.get("HX-Target") == "import-result"
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return render_template("_import_result.html" if fragment else "import.html", spec=spec,
                           result=result, error=error, filename=filename,
                           limit_mb=round(limit / 1024 / 1024, 1) if limit else None), status


@bp.get("/f/<form>/import")
@login_required
def page(form):
    return _page(_spec_for_create(form))


@bp.get("/f/<form>/import/template.<fmt>")
@login_required
def download_template(form, fmt):
    spec = _spec_for_create(form)
    if fmt not in MIMETYPES:
        abort(404)
    data = engine().template(spec.id, fmt, lang())
    return Response(data, headers={"Content-Type": MIMETYPES[fmt],
                                   "Content-Disposition": f'attachment; filename="{spec.id}-template.{fmt}"'})


@bp.post("/f/<form>/import")
@login_required
def upload(form):
    spec = _spec_for_create(form)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(spec, error="choose a CSV or XLSX file", status=400)
    filename = upload.filename
    if not filename.lower().endswith(EXTENSIONS):
        return _page(spec, error="the file must be .csv or .xlsx", status=400, filename=filename)
    content = upload.read()
    if not content:
        return _page(spec, error="the file is empty", status=400, filename=filename)
    dry_run = request.form.get("mode") != "import"
    try:
        result = engine().import_file(acting_user(), spec.id, io.BytesIO(content), dry_run=dry_run,
                                      filename=filename)
    except PermissionDenied:
        raise
    except LoomError as exc:  # the file itself cannot be read
        return _page(spec, error=exc.message, status=400, filename=filename)
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        return _page(spec, error=f"cannot read the file: {exc}", status=400, filename=filename)
    return _page(spec, result=result.as_json(), status=200 if result.ok else 422, filename=filename)
