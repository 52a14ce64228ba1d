"""Answer texts kept by what they were made from (the list page's and the inbox's items)."""
from __future__ import annotations

from typing import Hashable


class KeptTexts:
    """Texts by key: `get(key)` answers a kept text or None, `keep(key, text)` keeps one. The
    key must hold everything the text depends on (a row exactly as the driver gave it, the
    renderer): a changed row is a new key, never a stale text. At most `most` are kept; past
    that the store starts over (a kept text is only a saving, never needed)."""

    def __init__(self, most: int = 4096):
        self.most = most
        self._texts: dict = {}
        self.get = self._texts.get  # looked up per row of a page: the dict's own method

    def keep(self, key: Hashable, text: str) -> str:
        if len(self._texts) >= self.most:
            self._texts.clear()
        self._texts[key] = text
        return text
