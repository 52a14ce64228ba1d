"""JSON shapes of engine objects the web layer hands out (definitions, tasks, results)."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable


def plain(value: Any) -> Any:
    """Any engine object → JSON-safe value: `to_json()` first, then dataclass fields."""
    if hasattr(value, "to_json") and callable(value.to_json):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def label_json(label) -> dict | str:
    texts = dict(label.texts)
    if list(texts) == ["*"]:
        return texts["*"]
    return texts


def field_json(f) -> dict:
    out: dict[str, Any] = {"name": f.name, "type": f.type, "label": label_json(f.label) or f.name}
    if f.required:
        out["required"] = True
    if f.required_if is not None:
        out["required_if"] = f.required_if.source if hasattr(f.required_if, "source") else str(f.required_if)
    if f.visible_if is not None:
        out["visible_if"] = _expr_text(f.visible_if)
    if f.compute is not None:
        out["compute"] = _expr_text(f.compute)
    if f.readonly:
        out["readonly"] = True
    if f.options:
        out["options"] = list(f.options)
    if f.option_labels:
        out["option_labels"] = {o: label_json(lbl) for o, lbl in f.option_labels}
    if f.to:
        out["to"] = f.to
    for key in ("min", "max", "min_rows", "max_rows", "max_length"):
        v = getattr(f, key)
        if v is not None:
            out[key] = plain(v)
    if f.fields:
        out["fields"] = [field_json(c) for c in f.fields]
    return out


def _expr_text(expr) -> str:
    for attr in ("source", "text", "src"):
        v = getattr(expr, attr, None)
        if isinstance(v, str):
            return v
    return str(expr)


def form_json(form, engine, user) -> dict:
    wf = engine.defs.workflow_for(form.id)
    return {
        "id": form.id, "title": label_json(form.title), "title_field": form.title_field,
        "number": form.number, "indexes": list(form.indexes),
        "fields": [field_json(f) for f in form.fields],
        "permissions": {"create": list(form.permissions.create), "read": list(form.permissions.read),
                        "update": list(form.permissions.update)},
        "can_create": engine.can_create(user, form.id),
        "workflow": None if wf is None else {
            "id": wf.id, "start": wf.start,
            "steps": {name: {"title": label_json(s.title) or name, "final": s.final,
                             "approval": s.is_approval, "actions": sorted(s.actions)}
                      for name, s in wf.steps.items()}},
    }


def report_json(rep) -> dict:
    return {
        "id": rep.id, "title": label_json(rep.title) or rep.id, "source": rep.source,
        "dashboard": rep.is_dashboard, "tiles": list(rep.tiles),
        "params": [{"name": p.name, "type": p.type, "label": label_json(p.label) or p.name,
                    "required": p.required, **({"options": list(p.options)} if p.options else {})}
                   for p in rep.params],
        "chart": plain(rep.chart) if rep.chart else None,
    }


def utc_marker(schema: dict | None) -> Callable[[Any], Any] | None:
    """A function giving every string a value's JSON schema declares `date-time` a UTC
    offset, worked out once per schema; None when the schema declares no date-time anywhere
    (the value goes out as it is). Date-times are held naive in UTC
    (engine/fields/temporal.py); the API says so on the wire (`Z`).
    A list page marks 50 records with the same schema: walking it per value was 40% of it."""
    if not schema:
        return None
    stamp = schema.get("format") == "date-time"
    props = schema.get("properties")
    fields = {k: m for k, p in props.items() if (m := utc_marker(p)) is not None} \
        if isinstance(props, dict) else {}
    items = utc_marker(schema["items"]) if isinstance(schema.get("items"), dict) else None
    if not stamp and not fields and items is None:
        return None
    marked = tuple(fields.items())  # a dict is copied, only the fields that hold date-times visited

    def mark(value):
        if value is None:
            return value
        if stamp and isinstance(value, str):
            return value if _has_offset(value) else value + "Z"
        if fields and isinstance(value, dict):
            out = dict(value)
            for k, m in marked:
                if k in out:
                    out[k] = m(out[k])
            return out
        if items is not None and isinstance(value, list):
            return [items(v) for v in value]
        return value
    return mark


def _has_offset(text: str) -> bool:
    tail = text[10:]
    return tail.endswith("Z") or "+" in tail or "-" in tail
