"""The clock: the one thing tests fake (``FrozenClock``), because we cannot run it."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


def local_midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """Where a practice-local day begins, in UTC (a day the clocks change is 23 or 25 hours)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock that stays where it is put; tests move it with ``advance``."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._now = at.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta
