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
    posted = fd.texts_from_post(spec, data)
    shown = fd.texts_of(eng, spec, result.values)

    def dom(path: str, rows: dict) -> str | None:
        head, sep, rest = path.partition("[")
        if sep:
            i, _, cell = rest.partition("].")
            numbers = rows.get(head) or []
            if int(i) >= len(numbers):
                return None  # a row the page does not show
            path = f"{head}[{numbers[int(i)]}].{cell}"
        return fd.dom_id(path)

    texts: dict[str, str] = {}
    fill: dict[str, str] = {}
    for f in spec.fields:
        if not f.is_table:
            _place(texts, fill, f, dom(f.name, kept), shown.get(f.name, ""), posted.get(f.name, ""))
            continue
        before_rows = posted.get(f.name) or []
        for i, row in enumerate(shown.get(f.name) or []):
            before = before_rows[i] if i < len(before_rows) else {}
            for c in f.fields:
                _place(texts, fill, c, dom(f"{f.name}[{i}].{c.name}", kept), row.get(c.name, ""),
                       before.get(c.name, ""))
    visible = {k: v for p, v in result.visible.items() if (k := dom(p, kept))}
    required = {k: v for p, v in result.required.items() if (k := dom(p, kept))}
    blank = {t: [n for n in numbers if n not in kept.get(t, ())] for t, numbers in posted_rows.items()}
    if any(blank.values()):
        # Rows a save would drop (nothing typed yet) still show and hide cells as an empty
        # line would: their flags come from the draft with those rows kept, empty.
        padded = dict(data)
        for t, numbers in posted_rows.items():
            if t in data and blank[t]:
                rows = iter(data[t])
                padded[t] = [{} if n in blank[t] else next(rows) for n in numbers]
        extra = eng.preview(user, form, padded, record_id)
        for flags, out in ((extra.visible, visible), (extra.required, required)):
            for p, v in flags.items():
                head, sep, rest = p.partition("[")
                numbers = posted_rows.get(head) or []
                i = int(rest.partition("]")[0]) if sep else len(numbers)
                if i < len(numbers) and numbers[i] in blank.get(head, ()):
                    out[dom(p, posted_rows)] = v
        for t, ns in blank.items():
            table = spec.field(t)
            for n in ns:
                for c in table.fields:
                    if c.compute is not None or c.readonly:
                        texts[fd.dom_id(f"{t}[{n}].{c.name}")] = ""
    return jsonify({"texts": texts, "fill": fill, "visible": visible, "required": required})


def _place(texts: dict, fill: dict, f, key: str | None, text, before) -> None:
    """A computed (or read-only) field's new text; or an empty input a save would fill."""
    if key is None:
        return
    if f.compute is not None or f.readonly:
        texts[key] = text
    elif before in ("", None) and isinstance(text, str) and text:
        fill[key] = text


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
