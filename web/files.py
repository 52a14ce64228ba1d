"""Uploads from multipart posts, and file downloads with safe headers.

Every download goes through `send_file_ref`: images (sniffed from the bytes)
inline, anything else as an attachment; `nosniff` and a sandboxing CSP, so a
file can never run as a page of this site.
"""
from __future__ import annotations

import json
from urllib.parse import quote

from flask import Response, request
from werkzeug.datastructures import MultiDict

from engine.errors import ValidationFailed
from engine.store.blobs import INLINE_TYPES

FILE_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def send_file_ref(ref: dict, content: bytes, download: bool = False) -> Response:
    mime = ref.get("type") or "application/octet-stream"
    inline = mime in INLINE_TYPES and not download
    if not inline and mime.startswith("text/"):
        mime = "text/plain; charset=utf-8"  # html and xml are never served as themselves
    name = ref.get("name") or "file"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; " \
                  f"filename*=UTF-8''{quote(name)}"
    resp = Response(content, mimetype=mime.split(";")[0] if inline else None,
                    content_type=None if inline else mime)
    resp.headers["Content-Disposition"] = disposition
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = FILE_CSP
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp


def with_uploads(eng, user, spec, post, files) -> MultiDict:
    """The posted form with every uploaded file (inputs `u.photo`, `u.lines.0.drawing`) stored
    and its reference added, as JSON text, beside the references the form kept (`f.photo`,
    checkboxes); ValidationFailed names the field whose file broke a limit."""
    out = MultiDict(post)
    errors = {}
    for key in files:
        parts = key.split(".")
        if parts[0] != "u" or len(parts) not in (2, 4):
            continue
        path = parts[1] if len(parts) == 2 else f"{parts[1]}.{parts[3]}"
        field = spec.field(parts[1])
        if field is not None and len(parts) == 4:
            field = field.field(parts[3]) if field.is_table else None
        if field is None or field.type != "file":
            continue
        target = "f." + ".".join(parts[1:])
        chosen = [s for s in files.getlist(key) if s and s.filename]
        if chosen and not field.multiple:
            out.poplist(target)  # a new file replaces the one a single-file field held
        for storage in chosen:
            data = storage.read()
            try:
                ref = eng.upload(user, spec.id, path, storage.filename, data)
            except ValidationFailed as exc:  # over a size or type limit
                fields = exc.fields
                shown = parts[1] if len(parts) == 2 else f"{parts[1]}[{parts[2]}].{parts[3]}"
                errors.update({shown: v for v in fields.values()})
                continue
            out.add(target, json.dumps(ref))
    if errors:
        raise ValidationFailed(errors)
    return out


def wants_download() -> bool:
    return request.args.get("download") not in (None, "", "0")
