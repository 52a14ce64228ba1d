"""Which page of a long list a browser asks for (`?page=N`), and where it goes past the last."""
from __future__ import annotations

from flask import redirect, request, url_for

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


def past_the_end(page: int, pages: int, endpoint: str, **path):
    """A redirect to the last page when `page` lies past it (the list shrank under the
    reader: they decided the last task of the last page), else None."""
    if page <= pages:
        return None
    args = request.args.to_dict()
    args.update(path, page=pages)
    return redirect(url_for(endpoint, **args))
