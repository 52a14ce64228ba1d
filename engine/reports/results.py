"""What a report run returns: typed rows, and their JSON form.

Values are Python values (Decimal for money, date for dates); JSON turns
exact decimals into strings ("17.15") and dates into ISO text, as records do.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from decimal import ROUND_HALF_EVEN
from typing import Any, Callable, Iterator

from ..expr import to_python
from ..expr import types as T

from .compiler import OutputColumn


@dataclass
class ResultColumn:
    name: str
    label: str
    type: str  # expression type kind: text, integer, money, date, ...
    role: str  # group | measure | column

    def as_json(self) -> dict:
        return {"name": self.name, "label": self.label, "type": self.type, "role": self.role}


@dataclass
class ReportResult:
    """A report's answer: columns and rows (or, for a dashboard, one result per tile)."""

    report: str
    title: str
    columns: list[ResultColumn]
    rows: list[tuple]
    params: dict[str, Any] = field(default_factory=dict)
    chart: Any = None  # ChartSpec or None
    tiles: list["ReportResult"] = field(default_factory=list)

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def dicts(self) -> list[dict]:
        names = self.column_names()
        return [dict(zip(names, r)) for r in self.rows]

    def as_json(self) -> dict:
        out = {"report": self.report, "title": self.title,
               "columns": [c.as_json() for c in self.columns],
               "rows": [[json_value(v) for v in r] for r in self.rows],
               "params": {k: json_value(v) for k, v in self.params.items()}}
        if self.chart is not None:
            c = self.chart
            out["chart"] = {"type": c.type, "x": c.x, "y": list(c.y), "series": c.series}
        if self.tiles:
            out["tiles"] = [t.as_json() for t in self.tiles]
        return out


@dataclass
class ReportStream:
    """Columns and a row iterator, for exports that must not hold every row in memory."""

    report: str
    title: str
    columns: list[ResultColumn]
    rows: Iterator[tuple]


def result_columns(columns: list[OutputColumn], language: str | None) -> list[ResultColumn]:
    return [ResultColumn(c.name, c.heading(language), c.type.kind, c.role) for c in columns]


APPROX_PLACES = Decimal("1e-6")


def converter(term) -> Callable[[Any], Any]:
    """Fetched value → Python value for one output column.

    Approximate decimals (after `/` or avg) come back as floats on SQLite;
    they are rounded to 6 places so 1244.34 does not show as 1244.3400000000001.
    """
    if term.scale is None and term.type.kind in T.DECIMALS:
        def approx(v):
            x = to_python(v, term)
            if x is None:
                return None
            x = x.quantize(APPROX_PLACES, rounding=ROUND_HALF_EVEN)
            if x == x.to_integral_value():
                return x.quantize(Decimal(1))
            return Decimal(str(x).rstrip("0"))
        return approx
    return lambda v: to_python(v, term)


def json_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple, set, frozenset)):
        return [json_value(x) for x in v]
    return v
