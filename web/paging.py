"""Which page of a long list a browser asks for (`?page=N`)."""
from __future__ import annotations

MAX_PAGE = 10**6  # a page number past this is a typo or a probe, not a page


def page_number(args) -> int:
    """The `page` query argument as a page number from 1; anything else (empty, not a
    number, 0, past MAX_PAGE) is the first page: a bad page number is not worth an error
    page, and an unbounded one would reach the database as an offset it cannot hold."""
    raw = args.get("page") or "1"
    if len(raw) > 7 or not raw.isdecimal():
        return 1
    page = int(raw)
    return page if 0 < page <= MAX_PAGE else 1
