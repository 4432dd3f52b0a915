from __future__ import annotations

import datetime as dt
import uuid

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from booking.config import Settings
from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep, require_json_body
from booking.errors import NotFound
from booking.problem_docs import problem_responses
from booking.providers import service as providers
from booking.providers.models import TimeOff
from booking.providers.schemas import (
    ProviderCreate,
    ProviderHoursOut,
    ProviderOut,
    TimeOffIn,
    TimeOffOut,
    WeeklyHoursIn,
    WeeklyRangeOut,
)
from booking.staff.admin import AdminChangeDep
from booking.staff.dependencies import AdminStaff, staff_only

# Staff only; changes are an admin's (AdminStaff, AdminChangeDep: 403 otherwise).
router = staff_only().router(prefix="/api/v1", tags=["providers"])


PROVIDER_NOT_FOUND = NotFound("No provider with this id.")
TIME_OFF_NOT_FOUND = NotFound("This provider has no time off with this id.")


@router.get(
    "/providers",
    summary="List providers",
)
async def list_providers(session: SessionDep) -> list[ProviderOut]:
    """Whose diaries visits go into. A new database has one, "Practice"."""
    found = await providers.list_providers(session)
    return [ProviderOut.model_validate(provider, from_attributes=True) for provider in found]


@router.post(
    "/providers",
    status_code=201,
    summary="Add a provider (admin)",
    response_model=ProviderOut,
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(403, 415),
)
async def add_provider(body: ProviderCreate, change: AdminChangeDep) -> Response:
    """Once a practice has two providers, confirming a visit names one (`provider_id`). Send an
    `Idempotency-Key` so that a retry cannot add the provider twice."""

    async def produce() -> ProviderOut:
        provider = await providers.add_provider(
            change.session, name=body.name, now=change.clock.now()
        )
        return ProviderOut.model_validate(provider, from_attributes=True)

    return await change.respond(produce, payload=body.model_dump(mode="json"), status_code=201)


@router.get(
    "/providers/{provider_id}/hours",
    summary="A provider's working hours and time off",
    responses=problem_responses(PROVIDER_NOT_FOUND),
)
async def get_provider_hours(
    provider_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> ProviderHoursOut:
    """The weekly template (times of day in the practice's time zone) and the time off that has
    not ended yet. A provider without a template of their own works the practice's opening
    hours on its open days (`uses_practice_hours`); the practice's closed dates close everyone."""
    return await _hours_out(session, provider_id, settings, clock.now())


@router.put(
    "/providers/{provider_id}/hours",
    summary="Replace a provider's weekly hours (admin)",
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(403, PROVIDER_NOT_FOUND, 415),
)
async def replace_provider_hours(
    provider_id: uuid.UUID,
    body: WeeklyHoursIn,
    _admin: AdminStaff,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> ProviderHoursOut:
    """Several ranges per weekday make a break (08:00-12:00 and 13:00-17:00); ranges of one day
    may touch but not overlap (422). An empty `weekly` returns the provider to the practice's
    opening hours. Visits already confirmed stay where they are."""
    await providers.replace_weekly_hours(
        session, provider_id=provider_id, ranges=[r.as_range() for r in body.weekly]
    )
    return await _hours_out(session, provider_id, settings, clock.now())


@router.post(
    "/providers/{provider_id}/time-off",
    status_code=201,
    summary="Add time off for a provider (admin)",
    response_model=TimeOffOut,
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(403, PROVIDER_NOT_FOUND, 415),
)
async def add_provider_time_off(
    provider_id: uuid.UUID, body: TimeOffIn, change: AdminChangeDep, settings: SettingsDep
) -> Response:
    """From `start` to `end` (timezone-aware) no visit can be confirmed or moved into this
    provider's diary (409 `outside-working-hours`), and no free time is offered. Visits already
    confirmed in it stay: the desk moves them. Send an `Idempotency-Key` to make a retry safe."""

    async def produce() -> TimeOffOut:
        time_off = await providers.add_time_off(
            change.session, provider_id=provider_id, request=body, now=change.clock.now()
        )
        return _time_off_out(time_off, settings)

    return await change.respond(produce, payload=body.model_dump(mode="json"), status_code=201)


@router.delete(
    "/providers/{provider_id}/time-off/{time_off_id}",
    status_code=204,
    summary="Remove time off (admin)",
    responses=problem_responses(403, TIME_OFF_NOT_FOUND),
)
async def remove_provider_time_off(
    provider_id: uuid.UUID, time_off_id: uuid.UUID, _admin: AdminStaff, session: SessionDep
) -> Response:
    """The time becomes bookable again (within the provider's hours)."""
    await providers.remove_time_off(session, provider_id=provider_id, time_off_id=time_off_id)
    return Response(status_code=204)


async def _hours_out(
    session: AsyncSession, provider_id: uuid.UUID, settings: Settings, now: dt.datetime
) -> ProviderHoursOut:
    hours = await providers.get_hours(session, provider_id=provider_id, settings=settings, now=now)
    return ProviderHoursOut(
        weekly=[WeeklyRangeOut.of(weekly) for weekly in hours.weekly],
        uses_practice_hours=hours.uses_practice_hours,
        time_off=[_time_off_out(time_off, settings) for time_off in hours.time_off],
    )


def _time_off_out(time_off: TimeOff, settings: Settings) -> TimeOffOut:
    """Times in the practice's zone, with its offset."""
    zone = settings.timezone
    return TimeOffOut(
        id=time_off.id,
        start=time_off.start_at.astimezone(zone),
        end=time_off.end_at.astimezone(zone),
        reason=time_off.reason,
    )
