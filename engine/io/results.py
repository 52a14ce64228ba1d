"""What an import reports: every bad row (sheet, row, column, why) and the records it made."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RowError:
    sheet: str  # the form (or FORM.lines) the row belongs to
    row: int  # spreadsheet row number: the header is row 1
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"{self.sheet} row {self.row}"
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"

    def as_json(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    form: str
    rows: int = 0  # data rows read, all sheets
    errors: list[RowError] = field(default_factory=list)
    created: list[int] = field(default_factory=list)  # ids of new records (empty on dry run / error)
    updated: list[int] = field(default_factory=list)  # parents that got line items
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_row(self) -> dict[tuple[str, int], list[str]]:
        out: dict = {}
        for e in self.errors:
            out.setdefault((e.sheet, e.row), []).append(
                f"{e.column}: {e.message}" if e.column else e.message)
        return out

    def as_json(self) -> dict:
        return {"form": self.form, "rows": self.rows, "ok": self.ok, "dry_run": self.dry_run,
                "created": len(self.created), "updated": len(self.updated),
                "errors": [e.as_json() for e in self.errors]}
