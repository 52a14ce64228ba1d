"""Record numbers from a form's `number` pattern: `SO-{date:%Y%m}-{seq:05}`.

Placeholders: `{seq}` (the per-counter sequence, with an int format spec such
as `05`), `{date}` (when the record is numbered, with a strftime spec;
`%Y%m%d` by default), and any field of the record (`{region}`, formatted with
its spec when one is given). Only plain names are looked up: `{a.b}` or
`{a[0]}` are refused, so a pattern can never reach attributes of a value.

The store keeps one counter per `counter_key` (the formatted number without
its `{seq}` part), so `SO-{date:%Y%m}-{seq:05}` restarts every month. This
module only formats; counters are the store's, kept in its transaction.
"""
from __future__ import annotations

import string
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Mapping

_FORMATTER = string.Formatter()
_SEQ = "seq"
_DATE = "date"
_DEFAULT_DATE_SPEC = "%Y%m%d"


class NumberPatternError(ValueError):
    """The pattern itself is wrong (a definition mistake, caught by `loom check`)."""


@lru_cache(maxsize=256)
def _parts(pattern: str) -> tuple[tuple[str, str | None, str], ...]:
    """(literal, placeholder name or None, format spec) triples, parsed once per pattern."""
    try:
        parsed = list(_FORMATTER.parse(pattern))
    except ValueError as exc:
        raise NumberPatternError(f"number pattern {pattern!r}: {exc}") from None
    out = []
    has_seq = False
    for literal, name, spec, conversion in parsed:
        if name is not None:
            if not name.isidentifier():
                raise NumberPatternError(
                    f"number pattern {pattern!r}: {{{name}}} must be seq, date or a field name")
            if conversion:
                raise NumberPatternError(f"number pattern {pattern!r}: conversions (!r, !s) are not allowed")
            if "{" in (spec or ""):
                raise NumberPatternError(f"number pattern {pattern!r}: nested placeholders are not allowed")
            has_seq = has_seq or name == _SEQ
        out.append((literal, name, spec or ""))
    if not has_seq:
        # Numbers must be unique: a pattern without {seq} gets it appended.
        out.append(("-", _SEQ, ""))
    return tuple(out)


def check_pattern(pattern: str) -> None:
    """Raise NumberPatternError when the pattern cannot be used (for definition checks)."""
    parts = _parts(pattern)
    for _, name, spec in parts:
        if name == _SEQ and spec:
            format(1, spec)
        elif name == _DATE:
            format(datetime(2000, 1, 1), spec or _DEFAULT_DATE_SPEC)


def _render(parts, seq: int | None, when: datetime, values: Mapping[str, Any]) -> str:
    out = []
    for literal, name, spec in parts:
        out.append(literal)
        if name is None:
            continue
        if name == _SEQ:
            if seq is not None:
                out.append(format(seq, spec) if spec else str(seq))
            continue
        if name == _DATE:
            out.append(format(when, spec or _DEFAULT_DATE_SPEC))
            continue
        value = values.get(name)
        if value is None:
            continue
        if spec:
            out.append(format(value, spec))
        elif isinstance(value, (date, datetime)):
            out.append(value.isoformat())
        else:
            out.append(str(value))
    return "".join(out)


def format_number(pattern: str, seq: int, when: datetime, values: Mapping[str, Any]) -> str:
    """`SO-{date:%Y%m}-{seq:05}`, 7, 2024-03-05 → `SO-202403-00007`."""
    return _render(_parts(pattern), seq, when, values)


def counter_key(pattern: str, when: datetime, values: Mapping[str, Any]) -> str:
    """The formatted number without its `{seq}`: one counter per distinct key (`SO-202403-`)."""
    return _render(_parts(pattern), None, when, values)
