"""Spreadsheet files → sheets of rows (header first): CSV (UTF-8 or GB18030) and XLSX.

A CSV path may bring its line items along: `claims.csv` for a form with a
`lines` table also reads `claims.lines.csv` beside it when that file exists
(what `loom export FORM -o claims.csv` writes).

Hostile files end in an `UnreadableFile` naming what is wrong (and the row,
when one row is), never a traceback: a file over `MAX_BYTES`, more than
`MAX_ROWS` rows, a cell over `MAX_CELL` characters or a row over `MAX_ROW`,
bytes that are neither UTF-8 nor GB18030.
"""
from __future__ import annotations

import csv
import io
import os
from typing import IO, Any, Iterable, Iterator

import openpyxl

from ..errors import LoomError
from ..reports.exporters import unneutralise

MAX_BYTES = 64 * 1024 * 1024  # one upload; a bigger import is split into files
MAX_ROWS = 200_000  # data rows per sheet
MAX_CELL = 131_072  # characters in one cell (the csv module's own default limit)
MAX_ROW = 1_048_576  # characters in one row, all cells


class UnreadableFile(LoomError):
    """The file itself cannot be read (not a row problem)."""

    code = "unreadable_file"


class FileTooLarge(UnreadableFile):
    status = 413
    code = "too_large"


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


def _too_large() -> FileTooLarge:
    return FileTooLarge(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; "
                        "split it into smaller files")


def _size_checked(source) -> None:
    """Refuse a path or seekable stream over MAX_BYTES before reading it."""
    if isinstance(source, (str, os.PathLike)):
        size = os.path.getsize(source)
    else:
        try:
            here = source.tell()
            size = source.seek(0, os.SEEK_END) - here
            source.seek(here)
        except (AttributeError, OSError, ValueError):
            return  # not seekable: _raw counts while reading
    if size > MAX_BYTES:
        raise _too_large()


def _raw(source) -> bytes | str:
    _size_checked(source)
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            return fh.read()
    raw = source.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise _too_large()
    return raw


def _checked(rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """Rows with the row count, cell and row sizes held to the limits (row 1 is the header)."""
    for n, row in enumerate(rows, start=1):
        if n > MAX_ROWS + 1:
            raise UnreadableFile(f"the file has more than {MAX_ROWS:,} rows; split it into "
                                 "smaller files")
        size = 0
        for cell in row:
            if isinstance(cell, str):
                if len(cell) > MAX_CELL:
                    raise UnreadableFile(f"row {n}: a cell is longer than {MAX_CELL:,} characters")
                size += len(cell)
        if size > MAX_ROW:
            raise UnreadableFile(f"row {n}: the row is longer than {MAX_ROW:,} characters")
        yield row


def _read_xlsx(source) -> dict[str, list[list[Any]]]:
    _size_checked(source)
    try:
        wb = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise UnreadableFile(f"cannot read the workbook: {exc}") from None
    out = {}
    try:
        for ws in wb.worksheets:
            rows = list(_checked(list(r) for r in ws.iter_rows(values_only=True)))
            while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
                rows.pop()
            out[ws.title] = rows
    except UnreadableFile:
        raise
    except Exception as exc:  # a damaged sheet inside a readable zip
        raise UnreadableFile(f"cannot read the workbook: {exc}") from None
    finally:
        wb.close()
    return out


def decode(raw: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else GB18030 (what Excel in a Chinese locale saves);
    anything else is refused with a message, never a UnicodeDecodeError."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise UnreadableFile("cannot read the file's encoding: save it as CSV UTF-8 and try "
                             "again") from None


def _csv_rows(text: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text))
    n = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            why = (f"a cell is longer than {MAX_CELL:,} characters" if "field limit" in str(exc)
                   else f"not a CSV row ({exc})")
            raise UnreadableFile(f"row {n + 1}: {why}") from None
        n += 1
        # export wrote `'=...` so a spreadsheet does not run it; the text is `=...`
        yield [unneutralise(c) for c in row]


def _read_csv(source) -> list[list[Any]]:
    raw = _raw(source)
    text = decode(raw) if isinstance(raw, bytes) else raw
    del raw
    csv.field_size_limit(MAX_CELL)
    rows = list(_checked(_csv_rows(text)))
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    return rows
