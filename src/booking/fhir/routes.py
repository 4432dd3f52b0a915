"""``/fhir/r4``: parse the search, call the service, answer FHIR JSON.

Read-only. Every answer names patients, so none is stored by a browser or proxy. Errors are
OperationOutcomes (``booking.errors`` renders them for these paths).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Query, Request
from starlette.responses import Response

from booking.apikeys.models import ApiScope
from booking.appointments import service as appointments
from booking.config import Settings
from booking.db import ReadsOnly, SessionDep
from booking.dependencies import ClockDep, SettingsDep, no_store
from booking.errors import FHIR_BASE_PATH, FieldError, RequestInvalid
from booking.fhir import resources
from booking.fhir import service as fhir
from booking.fhir.schemas import FhirResponse, fhir_responses
from booking.openapi import fhir_operation_id
from booking.providers import service as providers
from booking.staff.dependencies import RouterGuard, caller_with, scope_missing

MAX_COUNT = 100


def _only(*names: str) -> Any:
    """A dependency refusing search parameters this resource does not support (FHIR's strict
    handling): an ignored filter would return more patients than the caller asked for."""
    allowed = {*names, "_count", "_format"}

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise RequestInvalid(
                [FieldError(f"query.{name}", "is not a search parameter here") for name in unknown]
            )

    return Depends(check)


# An API key without fhir:read: every FHIR operation may answer it.
NO_FHIR_SCOPE = scope_missing(ApiScope.fhir_read)

# For staff members and keys with fhir:read. The FHIR API only reads: its statements run
# without a transaction (db.reads_only).
router = RouterGuard(caller_with(ApiScope.fhir_read), fhir_responses(401, NO_FHIR_SCOPE)).router(
    prefix=FHIR_BASE_PATH,
    tags=["fhir"],
    dependencies=[Depends(no_store), ReadsOnly],
    responses=fhir_responses(200),
    default_response_class=FhirResponse,
    generate_unique_id_function=fhir_operation_id,
)

Count = Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT, description="Page size.")]
Cursor = Annotated[str | None, Query(max_length=500, description="From the `next` link; opaque.")]


def _fhir(document: dict[str, Any]) -> Response:
    return FhirResponse(orjson.dumps(document))


def _base(settings: Settings) -> str:
    return settings.links_base_url + FHIR_BASE_PATH


def _search_url(base: str, kind: str, params: list[tuple[str, str]]) -> str:
    return f"{base}/{kind}" + (f"?{urlencode(params)}" if params else "")


def _searchset(
    kind: str,
    found: list[dict[str, Any]],
    settings: Settings,
    params: list[tuple[str, str]],
    count: int,
    cursor: str | None,
    next_cursor: str | None,
) -> Response:
    """A page of a search: its own link (with the cursor that led to it) and, when more
    follow, the ``next`` link (the same search, the next cursor)."""
    base = _base(settings)
    params = [*params, ("_count", str(count))]
    self_url = _search_url(base, kind, [*params, ("cursor", cursor)] if cursor else params)
    next_url = _search_url(base, kind, [*params, ("cursor", next_cursor)]) if next_cursor else None
    return _fhir(resources.searchset(found, base_url=base, self_url=self_url, next_url=next_url))


@router.get(
    "/metadata",
    summary="FHIR: what this server supports (CapabilityStatement)",
)
async def capabilities(settings: SettingsDep, clock: ClockDep) -> Response:
    """The CapabilityStatement: read and search of Appointment, Schedule and Slot, JSON."""
    return _fhir(
        resources.capability_statement(
            base_url=_base(settings), practice_name=settings.practice_name, now=clock.now()
        )
    )


@router.get(
    "/Appointment/{appointment_id}",
    summary="FHIR: one appointment",
    responses=fhir_responses(404),
)
async def read_appointment(
    appointment_id: uuid.UUID, session: SessionDep, settings: SettingsDep
) -> Response:
    """The appointment with its patient contained, the reason as a coded `reasonCode`, the
    preferred days as `requestedPeriod`; `meta.versionId` is the JSON API's version (ETag)."""
    found = await appointments.get_appointment(session, appointment_id)
    names = await fhir.provider_names(session, [found.provider_id])
    return _fhir(
        resources.appointment(fhir.row_of(found), zone=settings.timezone, provider_names=names)
    )


@router.get(
    "/Appointment",
    summary="FHIR: search appointments",
    dependencies=[_only("date", "status", "cursor")],
)
async def search_appointments(
    session: SessionDep,
    settings: SettingsDep,
    date: Annotated[
        list[str] | None,
        Query(description="The visit's day, practice-local: `ge2026-12-01`, `lt2026-12-08`."),
    ] = None,
    status: Annotated[
        list[str] | None, Query(description="FHIR statuses, comma-separated: `booked,proposed`.")
    ] = None,
    count: Count = 20,
    cursor: Cursor = None,
) -> Response:
    """A searchset Bundle. With `date`: visits on those days in time order; without: every
    appointment, newest first. Follow the `next` link for the next page."""
    page = await fhir.search_appointments(
        session,
        days=fhir.parse_days(date or [], "date"),
        statuses=fhir.our_statuses(status or []),
        count=count,
        cursor=cursor,
        settings=settings,
    )
    names = await fhir.provider_names(session, (row.provider_id for row in page.items))
    found = [
        resources.appointment(row._mapping, zone=settings.timezone, provider_names=names)
        for row in page.items
    ]
    params = [("date", value) for value in date or []]
    params += [("status", value) for value in status or []]
    return _searchset("Appointment", found, settings, params, count, cursor, page.next_cursor)


@router.get(
    "/Schedule",
    summary="FHIR: the providers' schedules",
    dependencies=[_only("cursor")],
)
async def search_schedules(
    session: SessionDep,
    settings: SettingsDep,
    count: Count = MAX_COUNT,
    cursor: Cursor = None,
) -> Response:
    """One Schedule per provider; its id is the provider's id (`provider_id` in the JSON API).
    Follow the `next` link when there are more providers than `_count`."""
    page = await fhir.search_schedules(session, count=count, cursor=cursor)
    schedules = [resources.schedule(p.id, p.name, active=p.is_active) for p in page.items]
    return _searchset("Schedule", schedules, settings, [], count, cursor, page.next_cursor)


@router.get(
    "/Schedule/{provider_id}",
    summary="FHIR: one provider's schedule",
    responses=fhir_responses(404),
)
async def read_schedule(provider_id: uuid.UUID, session: SessionDep) -> Response:
    """The provider's Schedule; its free times are `Slot?schedule=Schedule/{id}`."""
    provider = await providers.get_provider(session, provider_id)
    return _fhir(resources.schedule(provider.id, provider.name, active=provider.is_active))


@router.get(
    "/Slot",
    summary="FHIR: free slots",
    dependencies=[_only("schedule", "start", "cursor")],
)
async def search_slots(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    schedule: Annotated[
        str | None, Query(description="`Schedule/{id}`; every active provider when left out.")
    ] = None,
    start: Annotated[
        list[str] | None,
        Query(description="The slot's day, practice-local: `ge2026-12-01`, `lt2026-12-08`."),
    ] = None,
    count: Count = MAX_COUNT,
    cursor: Cursor = None,
) -> Response:
    """Free times of `BOOKING_SLOT_MINUTES` inside the providers' working hours, outside their
    time off and visits, from now on; a week ahead when `start` is left out, at most 32 days.
    In time order; a slot booked while you page moves no other to a page you have read."""
    page = await fhir.search_slots(
        session,
        provider_id=fhir.schedule_id(schedule),
        days=fhir.parse_days(start or [], "start"),
        settings=settings,
        now=clock.now(),
        count=count,
        cursor=cursor,
    )
    found = [resources.slot(one, settings.timezone) for one in page.items]
    params = [("schedule", schedule)] if schedule else []
    params += [("start", value) for value in start or []]
    return _searchset("Slot", found, settings, params, count, cursor, page.next_cursor)
