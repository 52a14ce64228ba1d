"""Spreadsheet cells ↔ field values: the field types answer (`from_cell`/`to_cell`);
this module gives them the words an export needs (option labels or values, yes/no
in the reader's language, link titles) and the cell helpers import and export share.
"""
from __future__ import annotations

from typing import Any, Callable

from ..fields.base import cell_text as cell_text

AMBIGUOUS = -1  # what a link lookup answers when several records share the title
YES_NO = {"zh": {"yes": "是", "no": "否"}}

Resolve = Callable[[str, Any], "int | None"]  # (target form, cell) → id, None, or AMBIGUOUS


class CellLabels:
    """The `Labels` a field type's `to_cell` gets in an export: choice labels in the
    reader's language (their option values when `labels` is false), yes/no in that
    language, links as the linked record's title (`title(form, id)`)."""

    def __init__(self, language: str | None, title: Callable[[str, int], str], labels: bool = True):
        self.language, self.title, self.labels = language, title, labels

    def option(self, field, option: str) -> str:
        if self.labels:
            for opt, label in field.option_labels:
                if opt == option and label:
                    return label.get(self.language)
        return option

    def word(self, key: str) -> str:
        return YES_NO.get(self.language or "", {}).get(key, key)

    def link_title(self, form: str, record_id: Any) -> str:
        return self.title(form, record_id)


def from_cell(types, f, value: Any, resolve: Resolve) -> Any:
    """A cell → what the field type parses; raises ValueError with the reason."""
    return types[f.type].from_cell(f, value, resolve)


def to_cell(types, f, value: Any, *, language: str | None, title: Callable[[str, int], str],
            labels: bool = True) -> Any:
    """A record's value → the cell a person reads and `from_cell` reads back."""
    if value is None or value == [] or value == "":
        return None
    return types[f.type].to_cell(f, value, CellLabels(language, title, labels))


# --- shared -----------------------------------------------------------------------------


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")
