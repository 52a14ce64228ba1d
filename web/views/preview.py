"""The form page's live preview: the posted form, parsed as a save parses it, run through
`Engine.preview` (the server's own expressions: nothing is evaluated in the browser).

The answer is keyed by input id (`f-lines-3-amount`): the page's row numbers, not the
draft's, since a save drops blank rows and removed rows leave gaps in the numbering.
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from engine.errors import NotFound

from .. import formdata as fd
from ..auth import acting_user
from .common import engine

bp = Blueprint("preview", __name__)


@bp.post("/f/<form>/preview")
@bp.post("/f/<form>/<int:record_id>/preview")
@login_required
def form_preview(form, record_id=None):
    """{texts: computed outputs, fill: empty inputs a save would default, visible, required}."""
    eng, user = engine(), acting_user()
    try:
        spec = eng.defs.form(form)
    except NotFound:
        abort(404)
    data = fd.parse_post(spec, request.form)
    result = eng.preview(user, form, data, record_id)
    posted_rows, kept = row_origins(spec, request.form)
    texts, fill = _texts(spec, fd.texts_of(eng, spec, result.values), fd.texts_from_post(spec, data), kept)
    visible = _by_input(result.visible, kept)
    required = _by_input(result.required, kept)
    blank = {t: [n for n in ns if n not in kept[t]] for t, ns in posted_rows.items()}
    if any(blank.values()):
        # Rows a save drops (nothing typed yet) still show and hide cells as an empty line
        # would: their flags come from the draft with those rows kept, empty.
        padded = dict(data)
        for t, ns in posted_rows.items():
            if t in data and blank[t]:
                rows = iter(data[t])
                padded[t] = [{} if n in blank[t] else next(rows) for n in ns]
        extra = eng.preview(user, form, padded, record_id)
        visible.update(_by_input(extra.visible, posted_rows, only=blank))
        required.update(_by_input(extra.required, posted_rows, only=blank))
        for t, ns in blank.items():
            for n in ns:
                texts.update({fd.dom_id(f"{t}[{n}].{c.name}"): "" for c in spec.field(t).fields
                              if c.compute is not None or c.readonly})
    return jsonify({"texts": texts, "fill": fill, "visible": visible, "required": required})


def _input_id(path: str, rows: dict[str, list[int]], only: dict | None = None) -> str | None:
    """The input id of a draft path (`lines[1].qty` → `f-lines-4-qty` when the draft's line 1
    is the page's row 4); None for a row the page lacks or, with `only`, one not listed."""
    head, sep, rest = path.partition("[")
    if not sep:
        return None if only is not None else fd.dom_id(path)
    i, _, cell = rest.partition("].")
    numbers = rows.get(head) or []
    if int(i) >= len(numbers):
        return None
    n = numbers[int(i)]
    if only is not None and n not in only.get(head, ()):
        return None
    return fd.dom_id(f"{head}[{n}].{cell}")


def _by_input(flags: dict, rows: dict, only: dict | None = None) -> dict:
    return {k: v for p, v in flags.items() if (k := _input_id(p, rows, only)) is not None}


def _texts(spec, shown: dict, posted: dict, rows: dict) -> tuple[dict, dict]:
    """Texts of computed (and read-only) outputs, and of empty inputs a save would fill."""
    texts: dict[str, str] = {}
    fill: dict[str, str] = {}

    def place(f, path, text, before):
        key = _input_id(path, rows)
        if key is None:
            return
        if f.compute is not None or f.readonly:
            texts[key] = text
        elif before in ("", None) and isinstance(text, str) and text:
            fill[key] = text

    for f in spec.fields:
        if not f.is_table:
            place(f, f.name, shown.get(f.name, ""), posted.get(f.name, ""))
            continue
        before_rows = posted.get(f.name) or []
        for i, row in enumerate(shown.get(f.name) or []):
            before = before_rows[i] if i < len(before_rows) else {}
            for c in f.fields:
                place(c, f"{f.name}[{i}].{c.name}", row.get(c.name, ""), before.get(c.name, ""))
    return texts, fill


def row_origins(spec, post) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """The page's row numbers per table: every posted row, and the rows a save keeps. Each
    posted row is parsed alone by `parse_post`, so a row counts exactly when a save keeps it."""
    cells: dict[str, dict[int, list]] = {}
    for key, value in post.items(multi=True):
        m = fd.ROW_RE.match(key)
        if m and int(m.group(2)) < fd.MAX_ROWS and (f := spec.field(m.group(1))) is not None \
                and f.is_table:
            cells.setdefault(m.group(1), {}).setdefault(int(m.group(2)), []).append((key, value))
    posted: dict[str, list[int]] = {}
    kept: dict[str, list[int]] = {}
    for table, rows in cells.items():
        posted[table] = sorted(rows)
        kept[table] = [i for i in posted[table] if fd.parse_post(spec, MultiDict(rows[i])).get(table)]
    return posted, kept
