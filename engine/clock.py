"""Time as the engine sees it: naive UTC, replaceable in tests (a frozen clock)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(tzinfo=None)

    def today(self) -> date:
        return self.now().date()


class FrozenClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at = self.at + timedelta(**delta)
