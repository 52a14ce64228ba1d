"""Suggestions ("did you mean") for misspelt keys, names and values; shared by all checks."""
from __future__ import annotations

import difflib
from typing import Iterable

CUTOFF = 0.6  # difflib ratio; 0.6 accepts one slip in a short word ('tittle', 'aproved')


def did_you_mean(word: str, candidates: Iterable) -> str | None:
    """The candidate closest to `word`, or None when nothing is close enough.

    Case-insensitive first (`Title` -> `title`), then by similarity; `word`
    itself is never suggested.
    """
    pool = [str(c) for c in candidates if c is not None]
    word = str(word)
    pool = [c for c in dict.fromkeys(pool) if c != word]
    if not word or not pool:
        return None
    folded = word.casefold()
    for c in pool:
        if c.casefold() == folded:
            return c
    by_fold = {c.casefold(): c for c in pool}
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=CUTOFF)
    return by_fold[close[0]] if close else None


def suggestion_suffix(word: str, candidates: Iterable) -> str:
    """`"; did you mean 'x'?"` when a candidate is close, else `""`."""
    best = did_you_mean(word, candidates)
    return f"; did you mean '{best}'?" if best else ""
