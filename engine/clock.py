"""Time as the engine sees it: naive UTC, replaceable in tests (a frozen clock).

An Engine takes its clock once (`Engine(clock=...)`) and hands the same object
to everything that stamps time; code that needs another time moves that clock
(`hold`, `advance`, `release`) and never swaps `engine.clock`.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(tzinfo=None)

    def today(self) -> date:
        return self.now().date()


class FrozenClock(Clock):
    """A clock that moves only when told to; `release` goes back to where the first
    `hold` found it."""

    def __init__(self, at: datetime):
        self.at = at
        self._before: datetime | None = None

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at = self.at + timedelta(**delta)

    def hold(self, at: datetime) -> None:
        if self._before is None:
            self._before = self.at
        self.at = at

    def release(self) -> None:
        if self._before is not None:
            self.at, self._before = self._before, None


class HeldClock(Clock):
    """Real time, except while held at a moment: a demo seeds its simulated year on
    it (`hold`, `advance`), then `release` gives the engine real time back."""

    def __init__(self):
        self.at: datetime | None = None

    def now(self) -> datetime:
        return self.at if self.at is not None else super().now()

    def advance(self, **delta) -> None:
        self.at = self.now() + timedelta(**delta)

    def hold(self, at: datetime) -> None:
        self.at = at

    def release(self) -> None:
        self.at = None
