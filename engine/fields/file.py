"""A file reference: {name, size, sha256, type}; the bytes live in the blob store.

With `multiple: true` the value is a list of references. `max_size` and
`accept` are checked against `size` and `type`, which the engine fills from
the stored bytes (engine/records/files.py), never from what a client claims.
"""
from __future__ import annotations

import json

from .base import FieldError, FieldType

REF_KEYS = ("name", "size", "sha256", "type")


def accepts(patterns, mime: str) -> bool:
    """Whether content type `mime` matches one of `patterns` (`image/*`, `application/pdf`)."""
    for p in patterns:
        if p == mime or (p.endswith("/*") and mime.startswith(p[:-1])):
            return True
    return False


def human_size(n: int) -> str:
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n >= size:
            v = n / size
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"


def refs_of(value) -> list[dict]:
    """A stored file value (one reference, a list, or nothing) as a list of references."""
    if not value:
        return []
    items = value if isinstance(value, list) else [value]
    return [r for r in items if isinstance(r, dict)]


class FileType(FieldType):
    name = "file"
    widget = "file"
    typed = False
    filter_input = None
    preview_kind = "list"

    def parse(self, field, raw):
        if raw in (None, "", []):
            return None
        items = raw if isinstance(raw, list) else [raw]
        refs = [self._ref(field, x) for x in items if x not in (None, "")]
        if not refs:
            return None
        if getattr(field, "multiple", False):
            return refs
        if len(refs) > 1:
            raise FieldError("one file only")
        return refs[0]

    def _ref(self, field, raw) -> dict:
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith("{"):
                try:
                    raw = json.loads(text)
                except ValueError:
                    raise FieldError("expected a file") from None
            else:
                return {"name": text}  # a name only (imports of older data)
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise FieldError("expected a file")
        ref = {k: raw[k] for k in REF_KEYS if k in raw}
        size, mime = ref.get("size"), ref.get("type")
        limit = getattr(field, "max_size", None)
        if limit is not None and isinstance(size, int) and size > limit:
            raise FieldError(f"{ref['name']} is larger than {human_size(limit)}")
        accept = getattr(field, "accept", ())
        if accept and "sha256" in ref and not (isinstance(mime, str) and accepts(accept, mime)):
            raise FieldError(f"{ref['name']} is not an accepted kind of file ({', '.join(accept)})")
        return ref

    def to_input(self, field, value):
        return refs_of(value)

    def reshow(self, field, posted):
        return refs_of(posted)

    def from_form(self, field, post, key):
        """The references the form kept (hidden inputs, JSON each) plus those just uploaded."""
        if key not in post:
            return None
        values = post.getlist(key) if hasattr(post, "getlist") else [post.get(key)]
        return [v for v in values if v]  # [] (only the form's empty marker): the files were removed

    def display(self, field, value, labels):
        return ", ".join(r.get("name", "") for r in refs_of(value))

    def to_cell(self, field, value, labels=None):
        names = [r.get("name", "") for r in refs_of(value)]
        return ", ".join(names) if names else None

    def preview(self, field, value=None):
        return {"kind": self.preview_kind, "text": [r.get("name", "") for r in refs_of(value)]}

    def json_schema(self, field, schema_of):
        ref = {"type": "object", "properties": {
            "name": {"type": "string"}, "size": {"type": "integer"},
            "sha256": {"type": "string"}, "type": {"type": "string"}}}
        if getattr(field, "multiple", False):
            return {"type": ["array", "null"], "items": ref}
        return {"type": ["object", "null"], "properties": ref["properties"]}
