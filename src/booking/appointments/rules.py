"""The practice's booking rules for the request being validated.

Which days a patient may ask for depends on the clock, the time zone and the settings, but the
request schema is where every field is checked, so that one 422 lists every bad field at once.
The route's ``public_write`` dependency (run before FastAPI validates the body) puts the rules of
this moment in a context variable; the schema's validators read them from there. Anything else
that validates an ``AppointmentCreate`` (the hosted form) calls ``use_rules`` first.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass

from booking.config import Settings


@dataclass(frozen=True, slots=True)
class BookingRules:
    today: dt.date
    last_bookable_date: dt.date
    open_weekdays: frozenset[int]
    closed_dates: frozenset[dt.date]
    phone_region: str

    @classmethod
    def from_settings(cls, settings: Settings, now: dt.datetime) -> BookingRules:
        today = now.astimezone(settings.timezone).date()
        return cls(
            today=today,
            last_bookable_date=today + dt.timedelta(days=settings.booking_horizon_days),
            open_weekdays=settings.open_weekday_numbers,
            closed_dates=frozenset(settings.closed_dates),
            phone_region=settings.default_phone_region,
        )

    def problem_with_day(self, day: dt.date) -> str | None:
        """Why a patient cannot ask for this day (in words for the patient), or None."""
        if day < self.today:
            return "That day has passed; choose a day from today onwards."
        if day > self.last_bookable_date:
            return f"Choose a day no later than {self.last_bookable_date:%-d %B %Y}."
        if day.weekday() not in self.open_weekdays:
            return f"The practice is closed on {day:%A}s; choose another day."
        if day in self.closed_dates:
            return "The practice is closed on that day; choose another day."
        return None


_current_rules: ContextVar[BookingRules] = ContextVar("booking_rules")


def use_rules(rules: BookingRules) -> None:
    _current_rules.set(rules)


def current_rules() -> BookingRules:
    try:
        return _current_rules.get()
    except LookupError:
        raise RuntimeError(
            "booking rules are not set: call use_rules() before validating"
        ) from None
