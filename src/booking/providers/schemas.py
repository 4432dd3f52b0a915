from __future__ import annotations

import datetime as dt
import re
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from booking.providers.service import WeeklyRange, overlapping_ranges
from booking.values import IsoDateTime, ShortLine


class ProviderOut(BaseModel):
    id: uuid.UUID
    name: str
    is_active: bool
    created_at: dt.datetime


class ProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortLine


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"


WEEKDAYS = list(Weekday)

_CLOCK_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _clock_time(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, str) or not _CLOCK_TIME.fullmatch(value):
        raise ValueError("must be a time of day as HH:MM, 00:00 to 23:59")
    return dt.time(int(value[:2]), int(value[3:]))


# "HH:MM", 00:00-23:59, in the practice's time zone.
ClockTime = Annotated[
    dt.time,
    BeforeValidator(_clock_time),
    PlainSerializer(lambda value: f"{value:%H:%M}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}),
]


class WeeklyRangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: Weekday = Field(examples=["mon"])
    start: ClockTime = Field(examples=["08:00"])
    end: ClockTime = Field(examples=["12:00"])

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> WeeklyRangeIn:
        if self.end <= self.start:
            raise ValueError("end must be later than start, on the same day")
        return self

    def as_range(self) -> WeeklyRange:
        return WeeklyRange(WEEKDAYS.index(self.weekday), self.start, self.end)


def _no_overlaps(ranges: list[WeeklyRangeIn]) -> list[WeeklyRangeIn]:
    if overlapping_ranges(r.as_range() for r in ranges):
        raise ValueError("ranges on the same day may not overlap (08:00-12:00 and 12:00-17:00 may)")
    return ranges


class WeeklyHoursIn(BaseModel):
    """The weekly template, replaced whole; an empty list returns to the practice's hours."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "weekly": [
                        {"weekday": "mon", "start": "08:00", "end": "12:00"},
                        {"weekday": "mon", "start": "13:00", "end": "17:00"},
                        {"weekday": "wed", "start": "10:00", "end": "18:00"},
                    ]
                }
            ]
        },
    )

    weekly: Annotated[list[WeeklyRangeIn], Field(max_length=70), AfterValidator(_no_overlaps)]


class WeeklyRangeOut(BaseModel):
    weekday: Weekday
    start: ClockTime
    end: ClockTime

    @classmethod
    def of(cls, weekly: WeeklyRange) -> WeeklyRangeOut:
        return cls(weekday=WEEKDAYS[weekly.weekday], start=weekly.start, end=weekly.end)


class TimeOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: IsoDateTime = Field(examples=["2026-12-21T00:00:00-06:00"])
    end: IsoDateTime = Field(examples=["2026-12-24T00:00:00-06:00"])
    reason: ShortLine | None = Field(
        default=None,
        examples=["Holiday"],
        description="For the desk; never a patient's details.",
    )

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> TimeOffIn:
        if self.end <= self.start:
            raise ValueError("end must be later than start")
        return self


class TimeOffOut(BaseModel):
    id: uuid.UUID
    start: dt.datetime
    end: dt.datetime
    reason: str | None


class ProviderHoursOut(BaseModel):
    weekly: list[WeeklyRangeOut] = Field(
        description="The template in force: the practice's opening hours when the provider "
        "has none of their own."
    )
    uses_practice_hours: bool = Field(
        description="True while the provider has no template of their own."
    )
    time_off: list[TimeOffOut] = Field(description="Time off that has not ended yet.")
