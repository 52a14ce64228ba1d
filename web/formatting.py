"""How numbers, sizes and dates read on a page: the one place every template and view
formats them through, so a locale-aware backend (Babel) can take over without touching
the call sites."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from engine.fields.file import human_size


def fmt_number(value, lang: str | None = None, places: int | None = None) -> str:
    """1234567.5 → "1,234,567.50" (with `places`); text that is not a number comes back as is."""
    if value is None or value == "":
        return ""
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if places is None:  # as many decimals as the value has (at most 4)
        places = 0 if d == d.to_integral_value() else min(4, max(0, -d.as_tuple().exponent))
    return f"{d:,.{places}f}"


def fmt_size(n) -> str:
    return human_size(int(n or 0))


def fmt_datetime(value, lang: str | None = None) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)
