"""How numbers, sizes and dates read on a page. One implementation: numbers and dates
delegate to `web/i18n.py` (Babel, the reader's language and time zone); these names stay
for the call sites and templates (`fmt_number`, `fmt_size`) that use them."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from engine.fields.file import human_size

from . import i18n


def fmt_number(value, lang: str | None = None, places: int | None = None) -> str:
    """1234567.5 → "1,234,567.50" (with `places`, in `lang`'s locale); text that is not a number comes back as is."""
    if value is None or value == "":
        return ""
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not d.is_finite():
        return str(value)
    if places is None:  # as many decimals as the value has (at most 4)
        places = 0 if d == d.to_integral_value() else min(4, max(0, -d.as_tuple().exponent))
    return i18n.number(d, lang, places)


def fmt_size(n) -> str:
    return human_size(int(n or 0))


def fmt_datetime(value, lang: str | None = None, zone_name: str | None = None) -> str:
    """A date or timestamp in `lang`'s words, a timestamp in `zone_name` (see `i18n.moment`)."""
    return i18n.moment(value, lang, zone_name)
