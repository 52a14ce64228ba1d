"""Files of file fields: upload into the blob store, vouch for references, read them back.

A record holds `{name, size, sha256, type}`; the bytes are in the blob store
(engine/store/blobs.py). Size and type always come from the bytes: on upload
they are measured and sniffed, and every reference a client sends back is
checked against the store (`vouch`), so a forged `type: image/png` or a hash
never uploaded is refused. Reading a file is allowed exactly when the record
holding it may be read, and only for a hash that record holds.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

from ..errors import NotFound, ValidationFailed
from ..fields.file import accepts, human_size, refs_of
from ..store.blobs import BlobStore, sniff, valid_hash

MAX_NAME = 200


def clean_name(name: str | None) -> str:
    """A file name as shown and sent back: no folders, no control characters."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"')
    return base[:MAX_NAME] or "file"


class Attachments:
    def __init__(self, defs, blobs: BlobStore):
        self.defs, self.blobs = defs, blobs

    def field(self, form_id: str, path: str):
        """The file field `path` (`photo` or `lines.drawing`) of a form; NotFound otherwise."""
        spec = self.defs.form(form_id)
        head, _, cell = path.partition(".")
        f = spec.field(head)
        if f is not None and cell and f.is_table:
            f = f.field(cell)
        if f is None or f.type != "file":
            raise NotFound(f"form {form_id!r} has no file field {path!r}")
        return f

    def upload(self, form_id: str, path: str, name: str | None, data: bytes) -> dict:
        """Store `data` for file field `path` after its size and type limits; its reference."""
        f = self.field(form_id, path)
        ref = {"name": clean_name(name), "size": len(data), "type": sniff(data[:4096])}
        if f.max_size is not None and len(data) > f.max_size:
            raise ValidationFailed({path: f"{ref['name']} is larger than {human_size(f.max_size)}"})
        if f.accept and not accepts(f.accept, ref["type"]):
            raise ValidationFailed({path: f"{ref['name']} is not an accepted kind of file "
                                          f"({', '.join(f.accept)})"})
        ref["sha256"] = self.blobs.put(data)
        return ref

    def vouch(self, form_id: str, data: Mapping) -> dict:
        """`data` with every file reference's size and type taken from the stored bytes;
        a reference to bytes never uploaded is a validation error."""
        spec = self.defs.form(form_id)
        out, errors = dict(data), {}
        for f in spec.fields:
            if f.type == "file" and f.name in out:
                out[f.name] = self._vouch_value(out[f.name], f.name, errors)
            elif f.is_table and isinstance(out.get(f.name), list):
                cells = [c for c in f.fields if c.type == "file"]
                if not cells:
                    continue
                rows = []
                for i, row in enumerate(out[f.name]):
                    if isinstance(row, dict):
                        row = dict(row)
                        for c in cells:
                            if c.name in row:
                                row[c.name] = self._vouch_value(row[c.name], f"{f.name}[{i}].{c.name}", errors)
                    rows.append(row)
                out[f.name] = rows
        if errors:
            raise ValidationFailed(errors)
        return out

    def _vouch_value(self, value: Any, path: str, errors: dict) -> Any:
        items = value if isinstance(value, list) else [value]
        fixed = []
        for item in items:
            if isinstance(item, str) and item.strip().startswith("{"):
                try:
                    item = json.loads(item)
                except ValueError:
                    errors[path] = "expected a file"
                    continue
            if isinstance(item, dict) and "sha256" in item:
                sha = item.get("sha256")
                if not valid_hash(sha) or not self.blobs.exists(sha):
                    errors[path] = f"{item.get('name') or 'the file'} was not uploaded"
                    continue
                content = self.blobs.get(sha)
                item = {"name": clean_name(item.get("name")), "size": len(content),
                        "sha256": sha, "type": sniff(content[:4096])}
            fixed.append(item)
        return fixed if isinstance(value, list) else (fixed[0] if fixed else None)

    def find(self, record, sha256: str) -> dict:
        """The reference with hash `sha256` the record holds (in any file field or line); NotFound
        when it holds none — a file is only ever read through a record that has it."""
        spec = self.defs.form(record.form)
        for f in spec.fields:
            if f.type == "file":
                for ref in refs_of(record.data.get(f.name)):
                    if ref.get("sha256") == sha256:
                        return ref
            elif f.is_table:
                for row in record.data.get(f.name) or []:
                    for c in f.fields:
                        if c.type == "file":
                            for ref in refs_of((row or {}).get(c.name)):
                                if ref.get("sha256") == sha256:
                                    return ref
        raise NotFound("no such file on this record")

    def read(self, record, sha256: str) -> tuple[dict, bytes]:
        ref = self.find(record, sha256)
        return ref, self.blobs.get(sha256)
