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

import codecs
import csv
import io
import os
import pickle
import tempfile
from typing import IO, Any, Callable, Iterable, Iterator

import openpyxl

from ..errors import LoomError
from ..reports.exporters import unneutralise

MAX_BYTES = 64 * 1024 * 1024  # one upload; a bigger import is split into files
MAX_ROWS = 200_000  # data rows per sheet
MAX_CELL = 131_072  # characters in one cell (the csv module's own default limit)
MAX_ROW = 1_048_576  # characters in one row, all cells
CHUNK = 1 << 20  # bytes read at a time
COPY_ROWS = 1000  # rows of an XLSX sheet pickled together in its copy (see _Copies)


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
    """Sheet name → rows (header first, trailing blank rows dropped). CSV gives one sheet ''."""
    book = open_sheets(source, fmt, filename)
    try:
        return {name: without_trailing_blanks(list(book.rows(name))) for name in book.names}
    finally:
        book.close()


class Sheets:
    """A file's sheets, each read row by row (header first) as often as asked: an import
    reads its file twice (counting, then checking) and holds no sheet in memory. The
    limits are checked on every read; trailing blank rows are included."""

    def __init__(self, names: list[str], read: Callable[[str], Iterator[list[Any]]],
                 close: Callable[[], None] = lambda: None):
        self.names, self._read, self._close = names, read, close

    def rows(self, name: str) -> Iterator[list[Any]]:
        return self._read(name)

    def close(self) -> None:
        self._close()


def open_sheets(source: str | os.PathLike | IO, fmt: str | None = None,
                filename: str | None = None) -> Sheets:
    """The file's sheets, read lazily (see `Sheets`); CSV gives one sheet named ''. The
    encoding and the size are checked here, the rows' limits while reading them."""
    fmt = file_format(source, fmt, filename)
    if fmt not in ("xlsx", "xlsm", "csv"):
        raise UnreadableFile(f"cannot import .{fmt} files; use CSV or XLSX")
    opener, close = _reopenable(source)
    try:
        return _xlsx_sheets(opener, close) if fmt != "csv" else _csv_sheets(opener, close)
    except BaseException:
        close()
        raise


def blank_row(row) -> bool:
    return all(v is None or str(v).strip() == "" for v in row)


def without_trailing_blanks(rows: list[list[Any]]) -> list[list[Any]]:
    while rows and blank_row(rows[-1]):
        rows.pop()
    return rows


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


def _reopenable(source):
    """(open, close): `open()` gives a binary stream at the file's start, each time anew.
    A path is opened per read; a seekable stream is rewound (and not closed); any other
    stream is copied to a temporary file first (counting its size)."""
    _size_checked(source)
    if isinstance(source, (str, os.PathLike)):
        return (lambda: open(source, "rb")), (lambda: None)
    try:
        start = source.tell()
        source.seek(start)
    except (AttributeError, OSError, ValueError):
        copy = tempfile.TemporaryFile()
        size = 0
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > MAX_BYTES:
                copy.close()
                raise _too_large() from None
            copy.write(chunk)
        source, start, close = copy, 0, copy.close
    else:
        close = lambda: None  # noqa: E731 — the caller's stream is the caller's to close

    def rewound():
        source.seek(start)
        return _Borrowed(source)
    return rewound, close


class _Borrowed(io.BufferedIOBase):
    """A stream lent to a reader: closing it leaves the stream open (and where it is)."""

    def __init__(self, raw):
        super().__init__()
        self._raw = raw

    def readable(self):
        return True

    def seekable(self):
        return True

    def read(self, n=-1):
        return self._raw.read(n)

    def read1(self, n=-1):
        return self._raw.read(n)

    def readinto(self, b):
        data = self._raw.read(len(b))
        b[:len(data)] = data
        return len(data)

    def seek(self, pos, whence=0):
        return self._raw.seek(pos, whence)

    def tell(self):
        return self._raw.tell()


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


def _xlsx_sheets(opener, close) -> Sheets:
    def workbook(fh):
        try:
            return openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a bad file
            raise UnreadableFile(f"cannot read the workbook: {exc}") from None

    with opener() as fh:
        wb = workbook(fh)
        names = wb.sheetnames
        wb.close()

    def parsed(name: str) -> Iterator[list[Any]]:
        with opener() as fh:
            wb = workbook(fh)
            try:
                yield from _checked(list(r) for r in wb[name].iter_rows(values_only=True))
            except UnreadableFile:
                raise
            except Exception as exc:  # a damaged sheet inside a readable zip
                raise UnreadableFile(f"cannot read the workbook: {exc}") from None
            finally:
                wb.close()
    copies = _Copies()

    def closed():
        copies.close()
        close()
    return Sheets(names, lambda name: copies.rows(name, parsed), closed)


class _Copies:
    """An XLSX sheet read once: openpyxl takes ~50 µs a row, so the first full read of a
    sheet keeps its (checked) rows in a temporary file, pickled COPY_ROWS at a time, and
    the next reads come from there. A read given up half-way keeps nothing."""

    def __init__(self):
        self.files: dict[str, IO[bytes]] = {}

    def rows(self, name: str, parse: Callable[[str], Iterator[list[Any]]]) -> Iterator[list[Any]]:
        copy = self.files.get(name)
        if copy is not None:
            copy.seek(0)
            while True:
                try:
                    chunk = pickle.load(copy)
                except EOFError:
                    return
                yield from chunk
        copy, chunk = tempfile.TemporaryFile(), []
        try:
            for row in parse(name):
                chunk.append(row)
                if len(chunk) == COPY_ROWS:
                    pickle.dump(chunk, copy, pickle.HIGHEST_PROTOCOL)
                    yield from chunk
                    chunk = []
            pickle.dump(chunk, copy, pickle.HIGHEST_PROTOCOL)
            yield from chunk
        except BaseException:
            copy.close()
            raise
        old = self.files.pop(name, None)
        if old is not None:
            old.close()
        self.files[name] = copy

    def close(self) -> None:
        for copy in self.files.values():
            copy.close()
        self.files.clear()


def _csv_rows(text: IO[str]) -> Iterator[list[str]]:
    reader = csv.reader(text)
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


def encoding(opener) -> str:
    """UTF-8 (with or without a byte-order mark), else GB18030 (what Excel in a Chinese
    locale saves), read through once a chunk at a time; anything else is refused with a
    message, never a UnicodeDecodeError."""
    for name in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(name)()
        with opener() as fh:
            try:
                while chunk := fh.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
                return name
            except UnicodeDecodeError:
                continue
    raise UnreadableFile("cannot read the file's encoding: save it as CSV UTF-8 and try again")


def _csv_sheets(opener, close) -> Sheets:
    enc = encoding(opener)
    csv.field_size_limit(MAX_CELL)

    def rows(_name: str) -> Iterator[list[Any]]:
        with opener() as fh:
            yield from _checked(_csv_rows(io.TextIOWrapper(fh, encoding=enc, newline="")))
    return Sheets([""], rows, close)


def _read_csv(source) -> list[list[Any]]:
    book = _csv_sheets(*_reopenable(source))
    try:
        return without_trailing_blanks(list(book.rows("")))
    finally:
        book.close()
