"""The practice's booking rules for the request being validated.

Which days a patient may ask for depends on the clock, the time zone and the settings, but the
request schema is where every field is checked, so that one 422 lists every bad field at once.
Whoever validates an ``AppointmentCreate`` (the API's POST, the hosted form) passes the rules
of this moment in pydantic's validation context (``rules_context``); the schema's validators
read them from there (``rules_in``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import ValidationInfo

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


def rules_context(rules: BookingRules) -> dict[str, BookingRules]:
    """The pydantic validation context that carries the rules to the schema's validators."""
    return {"rules": rules}


def rules_in(info: ValidationInfo) -> BookingRules:
    rules = (info.context or {}).get("rules")
    if not isinstance(rules, BookingRules):
        raise RuntimeError(
            "validate with context=rules_context(rules): the schema checks days against them"
        )
    return rules
