"""What saving a draft would store, for the browser's live preview (nothing is written)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Preview:
    """A draft run through the form runtime as a save would run it.

    `values` are Python values (as `Record.data`), `data` the same as JSON (as
    the API shows a record's data). `visible` and `required` have a flag per
    field and per cell of every line (`lines[2].qty`); `errors` are the
    messages a save would answer with, by the same paths.
    """

    values: dict
    data: dict
    visible: dict[str, bool] = field(default_factory=dict)
    required: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"values": self.data, "visible": self.visible, "required": self.required,
                "errors": self.errors}
