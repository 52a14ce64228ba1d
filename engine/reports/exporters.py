"""CSV and XLSX writers over a row iterator: one row in memory at a time.

CSV: UTF-8 with a byte-order mark (Excel opens it with the right encoding), a header of
column labels, money as plain decimal text ("17.15"), dates ISO.
XLSX: openpyxl write-only mode (rows go to a temporary file as written), a
bold frozen header, typed cells (numbers stay numbers, dates are dates with
a date format, money with two decimals) and column widths from the header
and the first rows.

Formula injection (OWASP "CSV injection"): text a person typed is never written
as something a spreadsheet runs. CSV text cells starting with `=`, `+`, `-`,
`@`, TAB or CR get a `'` in front (`neutralise`), and so does text already
starting with `'` and one of those, so the import's `unneutralise` (drop that
one `'`) gives back exactly the text; numbers, and text that is a plain number
("-5"), stay as they are. XLSX writes every text as a string cell, never a
formula.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..errors import LoomError
from .results import ReportStream

FORMATS = ("csv", "xlsx")
WIDTH_SAMPLE = 200  # rows looked at to size XLSX columns (the rest stream past)
NUMBER_FORMATS = {"money": "#,##0.00", "decimal": "#,##0.####", "percent": "0.00%",
                  "integer": "0", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss"}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise(text: str) -> str:
    """A text cell a spreadsheet will show, not run: `'` before a formula-looking start
    (also before `'`s followed by one, so that `unneutralise` is its exact inverse)."""
    rest = text.lstrip("'")
    if rest[:1] in FORMULA_START and rest and (rest != text or not PLAIN_NUMBER.fullmatch(text)):
        return "'" + text
    return text


def unneutralise(text):
    """What `neutralise` was given: drop the one `'` it would have added (other text as is)."""
    if isinstance(text, str) and text[:1] == "'" and neutralise(text[1:]) == text:
        return text[1:]
    return text


def write(fmt: str, stream: ReportStream, out: BinaryIO) -> int:
    """Write `stream` as `fmt` ("csv" or "xlsx") to the binary file `out`; returns the row count."""
    if fmt == "csv":
        return write_csv(stream, out)
    if fmt == "xlsx":
        return write_xlsx(stream, out)
    raise LoomError(f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return ", ".join(_text(x) for x in v)
    if isinstance(v, str):
        return neutralise(v)
    return str(v)


def csv_chunks(stream: ReportStream, rows_per_chunk: int = 1000) -> Iterator[bytes]:
    """The CSV as byte chunks, for a streamed HTTP response."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(str(c.label)) for c in stream.columns])
    yield codecs.BOM_UTF8 + buf.getvalue().encode()
    buf.seek(0), buf.truncate()
    n = 0
    for row in stream.rows:
        w.writerow([_text(v) for v in row])
        n += 1
        if n % rows_per_chunk == 0:
            yield buf.getvalue().encode()
            buf.seek(0), buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()


def write_csv(stream: ReportStream, out: BinaryIO) -> int:
    count = 0

    def counted():
        nonlocal count
        for row in stream.rows:
            count += 1
            yield row

    for chunk in csv_chunks(ReportStream(stream.report, stream.title, stream.columns, counted())):
        out.write(chunk)
    return count


def write_xlsx(stream: ReportStream, out: BinaryIO) -> int:
    return write_xlsx_sheets([stream], out)[0]


def write_xlsx_sheets(streams: list[ReportStream], out: BinaryIO) -> list[int]:
    """One workbook, a sheet per stream (each read to its end in turn); rows per sheet."""
    wb = Workbook(write_only=True)
    counts = [_add_sheet(wb, stream) for stream in streams]
    wb.save(out)
    return counts


def _add_sheet(wb, stream: ReportStream) -> int:
    ws = wb.create_sheet(title=_sheet_title(stream.title or stream.report))
    cols = stream.columns
    # widths must be set before the first row is written: size them from a sample
    rows = iter(stream.rows)
    sample = []
    for row in rows:
        sample.append(row)
        if len(sample) >= WIDTH_SAMPLE:
            break
    for i, c in enumerate(cols):
        width = max([len(c.label)] + [len(_text(r[i])) for r in sample])
        ws.column_dimensions[get_column_letter(i + 1)].width = min(max(width + 2, 8), 60)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for c in cols:
        cell = _string(ws, str(c.label))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    formats = [NUMBER_FORMATS.get(c.type) for c in cols]
    count = 0
    for source in (sample, rows):
        for row in source:
            ws.append([_cell(ws, v, f, WriteOnlyCell) for v, f in zip(row, formats)])
            count += 1
    return count


def _string(ws, text: str):
    """A string cell even when the text starts with `=` (openpyxl would write a formula)."""
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"
    return cell


def _cell(ws, v, fmt, WriteOnlyCell):
    if isinstance(v, str):
        return _string(ws, v) if v[:1] == "=" else v
    if v is None or isinstance(v, (bool, int)) and fmt is None:
        return v
    if isinstance(v, (list, tuple)):
        text = ", ".join(_plain(x) for x in v)
        return _string(ws, text) if text[:1] == "=" else text
    if isinstance(v, datetime) and v.tzinfo is not None:
        v = v.replace(tzinfo=None)
    cell = WriteOnlyCell(ws, value=v)
    if fmt is not None and isinstance(v, (int, float, Decimal, date)) and not isinstance(v, bool):
        cell.number_format = fmt
    return cell


def _plain(v) -> str:
    """A value as text for an XLSX string cell (no `'`: a string cell is never run)."""
    if isinstance(v, (list, tuple)):
        return ", ".join(_plain(x) for x in v)
    return v if isinstance(v, str) else _text(v)


def _sheet_title(title: str) -> str:
    bad = set('[]:*?/\\')
    clean = "".join("_" if ch in bad else ch for ch in title).strip() or "Report"
    return clean[:31]


__all__ = ["neutralise", "unneutralise", "write", "write_csv", "write_xlsx", "write_xlsx_sheets", "csv_chunks", "FORMATS"]

