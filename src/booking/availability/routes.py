"""Free times, suggestions for a request and the schedule: parse, call the service, return.

The bodies are written with orjson straight from the service's rows (the documented models
describe them; tests hold the answers to them): a month of free times is a thousand slots.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query
from starlette.responses import Response

from booking.apikeys.models import ApiScope
from booking.appointments.errors import APPOINTMENT_NOT_FOUND
from booking.availability import service as availability
from booking.availability.schemas import (
    AvailabilityOut,
    FreeSlotsQuery,
    ScheduleOut,
    ScheduleQuery,
    SuggestionsOut,
)
from booking.db import ReadsOnly, SessionDep
from booking.dependencies import NO_STORE_RESPONSES, ClockDep, SettingsDep, no_store
from booking.problem_docs import problem_responses
from booking.staff.dependencies import callers_with

# For staff members and keys with appointments:read; reads only (db.reads_only).
READERS = callers_with(ApiScope.appointments_read)
router = READERS.router(prefix="/api/v1", tags=["availability"], dependencies=[ReadsOnly])
# The schedule names patients: never kept by a browser or a proxy.
desk_router = READERS.router(
    prefix="/api/v1",
    tags=["availability"],
    dependencies=[Depends(no_store), ReadsOnly],
    responses=NO_STORE_RESPONSES,
)


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/availability",
    summary="Free times in the providers' diaries",
    response_model=AvailabilityOut,
)
async def list_free_slots(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    query: Annotated[FreeSlotsQuery, Query()],
) -> Response:
    """Start times on the slot grid (`BOOKING_SLOT_MINUTES` from the start of each working
    period) at which a visit of `duration_minutes` fits inside the provider's working hours,
    outside their time off and their confirmed visits (kept `BOOKING_VISIT_BUFFER_MINUTES`
    apart), and after now. Times are in the practice's time zone, with its offset (which changes
    with daylight saving time)."""
    slots = await availability.availability(
        session,
        first_day=query.first_day,
        last_day=query.last_day,
        duration_minutes=query.duration_minutes,
        provider_id=query.provider_id,
        settings=settings,
        now=clock.now(),
    )
    return _json({"slots": [_slot_json(slot, settings.timezone) for slot in slots]})


@router.get(
    "/appointments/{appointment_id}/suggestions",
    summary="Free times inside the patient's preferred windows",
    response_model=SuggestionsOut,
    responses=problem_responses(
        APPOINTMENT_NOT_FOUND,
        availability.NOT_BOOKABLE_EXAMPLE,
    ),
)
async def suggest_slots(
    appointment_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> Response:
    """Free times for the request's visit (the reason's default length; a confirmed visit keeps
    its length and provider) inside its `preferred_windows`: morning starts before 12:00
    practice time, afternoon at 12:00 or later, any is the whole day. Earliest first, spread
    over the windows. When none has room, the first free times after the last preferred day,
    with `window_index` null. 409 for a request that can no longer be booked."""
    found = await availability.suggestions(
        session,
        appointment_id=appointment_id,
        limit=limit,
        settings=settings,
        now=clock.now(),
    )
    zone = settings.timezone
    return _json(
        {"slots": [{**_slot_json(s.slot, zone), "window_index": s.window_index} for s in found]}
    )


@desk_router.get(
    "/schedule",
    summary="The visits of one to seven days",
    response_model=ScheduleOut,
)
async def get_schedule(
    session: SessionDep, settings: SettingsDep, query: Annotated[ScheduleQuery, Query()]
) -> Response:
    """The diary: visits starting on these days (confirmed, and completed or no-show once
    held), in time order, with the patient's name, the reason code and the urgent flag. Times
    in the practice's time zone."""
    rows = await availability.schedule(
        session,
        first_day=query.first_day,
        days=query.days,
        provider_id=query.provider_id,
        settings=settings,
    )
    zone = settings.timezone
    return _json(
        {
            "visits": [
                {
                    "appointment_id": str(row["id"]),
                    "reference": row["reference"],
                    "provider_id": str(row["provider_id"]),
                    "start": _local(row["start_at"], zone),
                    "end": _local(row["end_at"], zone),
                    "status": row["status"],
                    "first_name": row["first_name"],
                    "last_name": row["last_name"],
                    "reason_code": row["reason_code"],
                    "is_urgent": row["is_urgent"],
                }
                for row in rows
            ]
        }
    )


def _local(moment: dt.datetime, zone: dt.tzinfo) -> str:
    return moment.astimezone(zone).isoformat()


def _slot_json(slot: availability.Slot, zone: dt.tzinfo) -> dict[str, str]:
    """A free time as the API writes it: its provider, start and end in the practice's zone."""
    return {
        "provider_id": str(slot.provider_id),
        "start": _local(slot.start_at, zone),
        "end": _local(slot.end_at, zone),
    }
