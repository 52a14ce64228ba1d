"""Spreadsheet files → sheets of rows (header first): CSV (UTF-8 or GB18030) and XLSX.

A CSV path may bring its line items along: `claims.csv` for a form with a
`lines` table also reads `claims.lines.csv` beside it when that file exists
(what `loom export FORM -o claims.csv` writes).
"""
from __future__ import annotations

import csv
import io
import os
from typing import IO, Any, Iterable

import openpyxl

from ..errors import LoomError


class UnreadableFile(LoomError):
    """The file itself cannot be read (not a row problem)."""


def file_format(source: Any, fmt: str | None = None, filename: str | None = None) -> str:
    """`fmt`, or the file name's ending (csv when there is none)."""
    name = filename or (str(source) if isinstance(source, (str, os.PathLike)) else
                        getattr(source, "name", "") or "")
    return (fmt or os.path.splitext(str(name))[1].lstrip(".") or "csv").lower()


def read_tables(source: str | os.PathLike | IO, fmt: str | None = None,
                filename: str | None = None) -> dict[str, list[list[Any]]]:
    """Sheet name → rows (header first). CSV gives one sheet named ''."""
    fmt = file_format(source, fmt, filename)
    if fmt in ("xlsx", "xlsm"):
        return _read_xlsx(source)
    if fmt != "csv":
        raise UnreadableFile(f"cannot import .{fmt} files; use CSV or XLSX")
    return {"": _read_csv(source)}


def sibling_csvs(source: Any, fmt: str | None, names: Iterable[str]) -> dict[str, list[list[Any]]]:
    """For a CSV path `x.csv`: name → rows of each existing `x.NAME.csv` beside it."""
    if not isinstance(source, (str, os.PathLike)) or file_format(source, fmt) != "csv":
        return {}
    stem, ext = os.path.splitext(str(source))
    out = {}
    for name in names:
        path = f"{stem}.{name}{ext}"
        if os.path.isfile(path):
            out[name] = _read_csv(path)
    return out


def _read_xlsx(source) -> dict[str, list[list[Any]]]:
    try:
        wb = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise UnreadableFile(f"cannot read the workbook: {exc}") from None
    out = {}
    for ws in wb.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
            rows.pop()
        out[ws.title] = rows
    wb.close()
    return out


def _read_csv(source) -> list[list[Any]]:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            raw = fh.read()
    else:
        raw = source.read()
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")  # Excel in a Chinese locale saves CSV so
    else:
        text = raw
    rows = [r for r in csv.reader(io.StringIO(text))]
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    return rows
