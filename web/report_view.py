"""Running reports for the web: params from the query string, JSON shape, streamed exports, charts."""
from __future__ import annotations

import tempfile
from typing import Callable, ContextManager, Iterator

from flask import Response

from engine.reports.exporters import csv_chunks, write_xlsx

MIMETYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": MIMETYPES["xlsx"]}
FILE_CHUNK = 64 * 1024


def params_from(args, spec) -> dict:
    """Only the report's declared params; blank means 'use the default'."""
    names = {p.name for p in spec.params}
    return {k: v for k, v in args.items() if k in names and v != ""}


def result_json(result) -> dict:
    return result.as_json()


def svg(eng, user, report_id: str, params: dict) -> str:
    return eng.report_svg(user, report_id, params)


# the size a chart is drawn at, per place: a dashboard tile of span 1 or 2, or a report page
CHART_SIZES = {"1": (560, 330), "2": (1140, 380), "page": (960, 440)}


def chart_size(args) -> tuple[int, int] | None:
    """The drawing size the page asked for (`?size=1|2|page`), or the renderer's default."""
    return CHART_SIZES.get(args.get("size") or "")


class StreamedExport:
    """A WSGI body over a report stream: chunks as rows arrive, the database cursor closed at the end.

    The stream is opened here, in the view, so a permission or parameter error
    is still an ordinary error response; the server calls `close()` when the
    body is done or the client went away (even if iteration never started).
    """

    def __init__(self, opened: ContextManager, chunks: Callable[[object], Iterator[bytes]]):
        self._cm = opened
        self._chunks = chunks(opened.__enter__())

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        cm, self._cm = self._cm, None
        if cm is not None:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
            cm.__exit__(None, None, None)


def _xlsx_chunks(stream) -> Iterator[bytes]:
    # openpyxl's write-only workbook spools rows to a temporary file; the zip it saves goes
    # to another temporary file, sent in chunks: memory stays flat whatever the row count.
    with tempfile.TemporaryFile() as f:
        write_xlsx(stream, f)
        f.seek(0)
        while chunk := f.read(FILE_CHUNK):
            yield chunk


def chunks_for(fmt: str) -> Callable[[object], Iterator[bytes]]:
    return csv_chunks if fmt == "csv" else _xlsx_chunks


def download(opened: ContextManager, fmt: str, filename: str) -> Response:
    """A streamed CSV/XLSX attachment over `opened` (engine.report_stream / engine.form_stream)."""
    body = StreamedExport(opened, chunks_for(fmt))
    resp = Response(body, headers={"Content-Type": CONTENT_TYPES[fmt],
                                   "Content-Disposition": f'attachment; filename="{filename}.{fmt}"'})
    resp.headers["X-Accel-Buffering"] = "no"  # a proxy in front must not buffer it either
    return resp
