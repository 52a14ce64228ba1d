"""One of a fixed list of options, or several of them."""
from __future__ import annotations

from ..expr import types as T
from .base import FieldError, FieldType, cell_text


def _by_label(field) -> dict[str, str]:
    """Every option label, in every language, lower-cased → its option."""
    out = {}
    for opt, lbl in field.option_labels:
        for _, text in lbl.texts:
            out[str(text).strip().lower()] = opt
    return out


def _cell_option(field, raw) -> str:
    text = cell_text(raw)
    # a cell holding the option itself (most do) needs no table of labels
    return text if text in field.options else _by_label(field).get(text.lower(), text)


class ChoiceType(FieldType):
    name = "choice"
    widget = "select"
    filter_input = "option"

    def expr_type(self, field):
        return T.Type(T.TEXT, options=tuple(field.options))

    def parse(self, field, raw):
        text = super().parse(field, raw)
        if text is None:
            return None
        if text not in field.options:
            labels = {str(lbl).lower(): opt for opt, lbl in field.option_labels}
            for opt, lbl in field.option_labels:
                for _, t in lbl.texts:
                    labels[t.lower()] = opt
            if text.lower() in labels:
                return labels[text.lower()]
            raise FieldError(f"{text!r} is not one of: {', '.join(field.options)}")
        return text

    def display(self, field, value, labels):
        return "" if value in (None, "") else labels.option(field, value)

    def from_cell(self, field, raw, resolve_link=None):
        return _cell_option(field, raw.strip() if isinstance(raw, str) else raw)

    def to_cell(self, field, value, labels=None):
        if value in (None, ""):
            return None
        return labels.option(field, value) if labels is not None else value

    def json_schema(self, field, schema_of):
        return {"enum": [*field.options, None]}

    def match_filter(self, field, v):
        if v not in field.options:
            return [], {}
        return [f"{field.name} == {v!r}"], {f"x.{field.name}": v}


class MultiChoiceType(FieldType):
    name = "multichoice"
    widget = "multiselect"
    typed = False
    filter_input = None
    preview_kind = "list"

    def expr_type(self, field):
        return T.list_of(T.Type(T.TEXT, options=tuple(field.options)))

    def parse(self, field, raw):
        if raw is None or raw == "":
            return []
        items = raw if isinstance(raw, list) else [s for s in str(raw).split(",")]
        out = []
        for item in items:
            text = str(item).strip()
            if not text:
                continue
            if text not in field.options:
                raise FieldError(f"{text!r} is not one of: {', '.join(field.options)}")
            if text not in out:
                out.append(text)
        return out

    def from_form(self, field, post, key):
        return post.getlist(key)

    def to_input(self, field, value):
        return [] if value is None else list(value)

    def reshow(self, field, posted):
        return [] if posted is None else posted

    def display(self, field, value, labels):
        return ", ".join(labels.option(field, v) for v in value or ())

    # Cells list options split by ; or , (either width): "red; blue", "红，蓝" is not split.
    def from_cell(self, field, raw, resolve_link=None):
        text = str(raw.strip() if isinstance(raw, str) else raw)
        return [_cell_option(field, v)
                for v in text.replace("；", ";").replace(",", ";").split(";") if v.strip()]

    def to_cell(self, field, value, labels=None):
        if not value:
            return None
        items = [labels.option(field, v) if labels is not None else v for v in value]
        if any("," in i or ";" in i for i in items):  # a label `from_cell` would split
            items = list(value)
        return "; ".join(items)

    def json_schema(self, field, schema_of):
        return {"type": ["array", "null"], "items": {"enum": list(field.options)}}
