"""Finding English UI words on a page meant for a Chinese reader (the zh walk's eye).

A page's visible text and the attributes people read (placeholder, title, aria-label,
alt, a button's value) are split into Latin words; a word is English UI unless it is
allowed: a proper noun of the product (Loom, CSV…), or a data value — a user's name
or email, a record's number or any word of its stored values, a time zone name.
Text inside <code>, <kbd>, <script>, <style>, <template>, and inside any element marked
`translate="no"` (HTML's own "do not translate": identifiers, expressions, file paths)
is not UI wording and is skipped.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from zoneinfo import available_timezones

import sqlalchemy as sa

PROPER = {"Loom", "CSV", "XLSX", "ERP", "PDF", "SVG", "English", "UTC", "CNY", "TOTP"}
SKIP = {"script", "style", "code", "kbd", "template", "title"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
READ_ATTRS = ("placeholder", "title", "aria-label", "alt")
WORD = re.compile(r"[A-Za-z]{2,}")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.chunks: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        skip = tag in SKIP or a.get("translate") == "no"
        if not (skip or self._skipping()):
            self.chunks += [a[k] for k in READ_ATTRS if a.get(k)]
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.chunks.append(a["value"])
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if not self._skipping():
            self.chunks.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.chunks)


def data_words(engine) -> set[str]:
    """Every Latin word of the data a page may show: users, record numbers and values, zones."""
    from engine.store import tables as t

    words = set(PROPER)
    for z in available_timezones():
        words.update(WORD.findall(z))
    for u in engine.users.all():
        for v in (u.name, u.full_name, u.email):
            words.update(WORD.findall(v or ""))
    with engine.db.read() as conn:
        for number, data in conn.execute(sa.select(t.records.c.number, t.records.c.data)):
            words.update(WORD.findall(number or ""))
            _collect(data, words)
    return words


def _collect(value, words: set) -> None:
    if isinstance(value, str):
        words.update(WORD.findall(value))
    elif isinstance(value, dict):
        for v in value.values():
            _collect(v, words)
    elif isinstance(value, list):
        for v in value:
            _collect(v, words)


def english_words(html: str, allowed: set[str]) -> set[str]:
    """The English UI words on the page: Latin words that are not allowed data or names."""
    return {w for w in WORD.findall(visible_text(html)) if w not in allowed}
