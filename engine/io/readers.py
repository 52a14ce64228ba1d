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
import operator
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


class FileChanged(UnreadableFile):
    """The file was written to or replaced while it was being read (an import reads it more
    than once): what was read may be half of one version and half of another."""

    status = 409
    code = "file_changed"


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
    limits are checked on every read; trailing blank rows are included. A file read from
    a path must stay as it was from the first read to the last: every read after the
    first, and `verify`, end in FileChanged when it did not."""

    def __init__(self, names: list[str], read: Callable[[str], Iterator[list[Any]]],
                 close: Callable[[], None] = lambda: None,
                 verify: Callable[[], None] = lambda: None):
        self.names, self._read, self._close, self._verify = names, read, close, verify

    def rows(self, name: str) -> Iterator[list[Any]]:
        return self._read(name)

    def verify(self) -> None:
        """FileChanged when the file is no longer the one the first read opened (its size,
        times, or the file itself: another file put in its place); once all reads are done,
        before anything read is acted on."""
        self._verify()

    def close(self) -> None:
        self._close()


def open_sheets(source: str | os.PathLike | IO, fmt: str | None = None,
                filename: str | None = None) -> Sheets:
    """The file's sheets, read lazily (see `Sheets`); CSV gives one sheet named ''. The
    encoding and the size are checked here, the rows' limits while reading them."""
    fmt = file_format(source, fmt, filename)
    if fmt not in ("xlsx", "xlsm", "csv"):
        raise UnreadableFile(f"cannot import .{fmt} files; use CSV or XLSX")
    opener, close, verify = _reopenable(source)
    try:
        return (_xlsx_sheets if fmt != "csv" else _csv_sheets)(opener, close, verify)
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
    """(open, close, verify): `open()` gives a binary stream at the file's start, each time
    anew. A path is opened per read, and each open after the first, and `verify()`, check
    it is still the file first opened (`_Unchanged`); a seekable stream is rewound (and not
    closed); any other stream is copied to a temporary file first (counting its size)."""
    _size_checked(source)
    if isinstance(source, (str, os.PathLike)):
        unchanged = _Unchanged(source)
        return unchanged.open, (lambda: None), unchanged.verify
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
    return rewound, close, lambda: None


class _Unchanged:
    """A path read several times (an import: encoding, count, rows), held to be the same
    file each time: its device and inode (not another file renamed into its place), size,
    and modification and change times (ns; the change time cannot be set back the way a
    tool may restore the modification time). Compared at every open after the first, on
    the handle opened, and by `verify` once the reading is done."""

    def __init__(self, path):
        self.path = path
        self.first: tuple | None = None

    def open(self) -> IO[bytes]:
        fh = open(self.path, "rb")
        try:
            self._compare(os.fstat(fh.fileno()))
        except BaseException:
            fh.close()
            raise
        return fh

    def verify(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            raise self._changed("was removed or moved") from None
        self._compare(st)

    def _compare(self, st: os.stat_result) -> None:
        mark = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if self.first is None:
            self.first = mark
        elif mark[:2] != self.first[:2]:
            raise self._changed("was replaced by another file")
        elif mark != self.first:
            raise self._changed("was written to")

    def _changed(self, how: str) -> FileChanged:
        return FileChanged(f"{os.path.basename(os.fspath(self.path))} {how} while it was being "
                           "imported; nothing was imported. Import it again once it is complete "
                           "and nothing else is writing it")


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
        try:
            size = sum(map(len, row))  # a CSV row: all text
        except TypeError:  # a sheet's numbers, dates, blanks
            size = sum(len(cell) for cell in row if isinstance(cell, str))
        if size > MAX_CELL:  # only then can one cell be longer
            for cell in row:
                if isinstance(cell, str) and len(cell) > MAX_CELL:
                    raise UnreadableFile(f"row {n}: a cell is longer than {MAX_CELL:,} characters")
        if size > MAX_ROW:
            raise UnreadableFile(f"row {n}: the row is longer than {MAX_ROW:,} characters")
        yield row


def _xlsx_sheets(opener, close, verify) -> Sheets:
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
    return Sheets(names, lambda name: copies.rows(name, parsed), closed, verify)


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
        yield [unneutralise(c) for c in row] if any(map(_quoted, row)) else row


_quoted = operator.methodcaller("startswith", "'")  # a cell `unneutralise` may change


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


def _csv_sheets(opener, close, verify) -> Sheets:
    enc = encoding(opener)
    csv.field_size_limit(MAX_CELL)

    def rows(_name: str) -> Iterator[list[Any]]:
        with opener() as fh:
            yield from _checked(_csv_rows(io.TextIOWrapper(fh, encoding=enc, newline="")))
    return Sheets([""], rows, close, verify)


def _read_csv(source) -> list[list[Any]]:
    book = _csv_sheets(*_reopenable(source))
    try:
        rows = without_trailing_blanks(list(book.rows("")))
        book.verify()
        return rows
    finally:
        book.close()
