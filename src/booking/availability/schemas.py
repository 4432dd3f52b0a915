"""What availability, suggestions and the schedule answer (times in the practice's zone)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from booking.appointments.models import AppointmentStatus
from booking.appointments.reasons import ReasonCode
from booking.appointments.schemas import VISIT_MINUTES
from booking.availability.service import MAX_RANGE_DAYS, MAX_SCHEDULE_DAYS
from booking.values import IsoDate

_PROVIDER = "00000000-0000-4000-8000-000000000001"


def _slot_example(day: str, start: str, end: str, **more: Any) -> dict[str, Any]:
    """A slot as the examples show it: the provider's, in December (UTC-6)."""
    zone = "-06:00"
    return {
        "provider_id": _PROVIDER,
        "start": f"{day}T{start}:00{zone}",
        "end": f"{day}T{end}:00{zone}",
        **more,
    }


class FreeSlotsQuery(BaseModel):
    """GET /api/v1/availability's query string (``Annotated[FreeSlotsQuery, Query()]``)."""

    first_day: IsoDate = Field(alias="from", description="First day (practice-local), included.")
    last_day: IsoDate = Field(
        alias="to",
        description=f"Last day, included; at most {MAX_RANGE_DAYS} days after `from`.",
    )
    duration_minutes: int = Field(
        ge=VISIT_MINUTES[0], le=VISIT_MINUTES[1], description="The visit's length."
    )
    provider_id: uuid.UUID | None = Field(
        None, description="One provider; all active ones when left out."
    )


class ScheduleQuery(BaseModel):
    """GET /api/v1/schedule's query string (``Annotated[ScheduleQuery, Query()]``)."""

    first_day: IsoDate = Field(alias="date", description="The first day (practice-local).")
    days: int = Field(1, ge=1, le=MAX_SCHEDULE_DAYS)
    provider_id: uuid.UUID | None = Field(
        None, description="One provider's diary; everyone's when left out."
    )


class SlotOut(BaseModel):
    provider_id: uuid.UUID
    start: dt.datetime
    end: dt.datetime


class AvailabilityOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "slots": [
                        _slot_example("2026-12-07", "08:00", "08:30"),
                        _slot_example("2026-12-07", "08:15", "08:45"),
                    ]
                }
            ]
        }
    )

    slots: list[SlotOut] = Field(description="Free start times, in time order.")


class SuggestedSlotOut(SlotOut):
    window_index: int | None = Field(
        description="Which of the request's `preferred_windows` (0-based) the slot is in; null "
        "for a slot after the last preferred day (none of them had room)."
    )


class SuggestionsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "slots": [
                        _slot_example("2026-12-07", "08:00", "08:30", window_index=0),
                        _slot_example("2026-12-09", "13:00", "13:30", window_index=1),
                    ]
                }
            ]
        }
    )

    slots: list[SuggestedSlotOut]


class VisitOut(BaseModel):
    appointment_id: uuid.UUID
    reference: str
    provider_id: uuid.UUID
    start: dt.datetime
    end: dt.datetime
    status: AppointmentStatus
    first_name: str
    last_name: str
    reason_code: ReasonCode
    is_urgent: bool


class ScheduleOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "visits": [
                        {
                            "appointment_id": "6f1c2a0e-8b1d-4c5e-9a37-2f0d4b6c8e11",
                            "reference": "7KQM-2XHD",
                            "provider_id": _PROVIDER,
                            "start": "2026-12-07T09:00:00-06:00",
                            "end": "2026-12-07T09:30:00-06:00",
                            "status": "confirmed",
                            "first_name": "Ana",
                            "last_name": "Ruiz",
                            "reason_code": "back_pain",
                            "is_urgent": False,
                        }
                    ]
                }
            ]
        }
    )

    visits: list[VisitOut] = Field(description="In time order.")
