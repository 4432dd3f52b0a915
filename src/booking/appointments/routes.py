"""HTTP routes for appointment requests: parse, call one service function, return."""

from __future__ import annotations

import datetime as dt
import inspect
import uuid
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from booking.apikeys.models import ApiScope
from booking.appointments import listing
from booking.appointments import service as appointments
from booking.appointments.errors import APPOINTMENT_NOT_FOUND
from booking.appointments.lifecycle import (
    INITIAL_STATUS,
    PEOPLES_TRANSITIONS,
    Action,
    Transition,
)
from booking.appointments.listing import ListQuery
from booking.appointments.models import Appointment, EventSource
from booking.appointments.rules import BookingRules, rules_context
from booking.appointments.schemas import (
    AppointmentCreate,
    AppointmentCreated,
    AppointmentEventOut,
    AppointmentOut,
    AppointmentPage,
    ReasonCodeOut,
    appointment_document,
)
from booking.appointments.service import ActionContext, Actor
from booking.clock import Clock
from booking.config import Settings
from booking.db import ReadsOnly, SessionDep
from booking.dependencies import (
    NO_STORE_RESPONSES,
    ClockDep,
    SettingsDep,
    no_store,
    parse_json_body,
    require_json_body,
)
from booking.idempotency.dependencies import (
    Idempotency,
    IdempotencyDep,
    IdempotencyKeyHeader,
    keyed_request,
    replayed,
)
from booking.idempotency.errors import IdempotencyKeyInUse
from booking.idempotency.service import StoredResponse
from booking.openapi import body_checked_in_route
from booking.problem_docs import problem_responses
from booking.security import public_rate_limit
from booking.staff.dependencies import (
    AppointmentsWriter,
    Caller,
    callers_with,
)


@dataclass(frozen=True, slots=True)
class PublicWrite:
    """What a patient's POST needs before its body is validated."""

    settings: Settings
    now: dt.datetime
    rules: BookingRules


async def public_write(request: Request) -> PublicWrite:
    """One dependency, not four (FastAPI's resolver costs tens of µs per dependency on the
    hottest route): a JSON body (415 otherwise), the caller within the rate limit (429), and
    today's booking rules, which the body is validated against."""
    await require_json_body(request)
    await public_rate_limit(request)
    settings: Settings = request.app.state.settings
    clock: Clock = request.app.state.clock
    now = clock.now()
    return PublicWrite(settings, now, BookingRules.from_settings(settings, now))


PublicWriteDep = Annotated[PublicWrite, Depends(public_write)]

public_router = APIRouter(prefix="/api/v1")


@public_router.get(
    "/reason-codes",
    summary="List the reasons a patient can give",
    tags=["reason codes"],
)
async def list_reason_codes() -> list[ReasonCodeOut]:
    """The reason codes the website form offers, with labels and default visit lengths."""
    return [
        ReasonCodeOut(
            code=info.code,
            label=info.label,
            description=info.description,
            default_duration_minutes=info.default_duration_minutes,
        )
        for info in appointments.list_reasons()
    ]


@public_router.post(
    "/appointments",
    status_code=201,
    response_model=AppointmentCreated,
    # The body is validated in the route, with today's booking rules as pydantic's context;
    # openapi.build_document adds AppointmentCreate's schema to the document's components.
    openapi_extra=body_checked_in_route(AppointmentCreate),
    summary="Request an appointment",
    tags=["appointments"],
    responses={
        201: {
            "description": "The request is stored; the desk will confirm a time.",
            "headers": {
                "Location": {
                    "description": "The new appointment's address in this API.",
                    "schema": {"type": "string"},
                }
            },
        },
        **problem_responses(
            IdempotencyKeyInUse("Retry in a moment to receive its response."),
            413,
            415,
            422,
            429,
        ),
    },
)
async def create_appointment(
    write: PublicWriteDep,
    session: SessionDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Store a patient's request for an appointment, as the practice's website form posts it.

    Send an `Idempotency-Key` so that a retry (a double click, a timeout) cannot create a
    second request: the same key and body replay the first response (a retry sent while the
    first is still being stored waits for it and gets the same answer). When the patient
    reports urgent symptoms, or pain with low mood, the response carries an `advisory` to show
    them right away.
    """
    payload = parse_json_body(await request.body(), AppointmentCreate, rules_context(write.rules))
    keyed = await keyed_request(
        idempotency_key, scope="public", request=request, settings=write.settings
    )
    outcome = await appointments.create_appointment(
        session,
        request=payload,
        settings=write.settings,
        now=write.now,
        keyed=keyed,
        respond=created_response,
    )
    if isinstance(outcome, StoredResponse):
        return replayed(outcome)
    request.app.state.metrics.appointment_stored("api", receipt_skipped=outcome.receipt_skipped)
    stored = outcome.response
    assert stored is not None
    return Response(stored.body, status_code=stored.status, headers=stored.headers)


def created_response(created: appointments.CreatedAppointment) -> StoredResponse:
    """The 201, built before the request is written: it is stored with it under its key."""
    body = AppointmentCreated(
        id=created.id,
        reference=created.reference,
        status=INITIAL_STATUS,
        urgent=created.is_urgent,
        advisory=created.advisory,
        created_at=created.created_at,
    )
    return StoredResponse(
        201,
        body.model_dump_json(),
        {
            "content-type": "application/json",
            "location": f"/api/v1/appointments/{created.id}",
        },
    )


# --- the front desk ---------------------------------------------------------------------------

# The desk's actions, for staff members and keys with appointments:write.
desk_router = callers_with(ApiScope.appointments_write).router(
    prefix="/api/v1",
    tags=["front desk"],
    dependencies=[Depends(no_store)],
    responses=NO_STORE_RESPONSES,
)
# The desk's reads: the same, for staff members and keys with appointments:read, and their
# statements run without a transaction (db.reads_only).
desk_reads_router = callers_with(ApiScope.appointments_read).router(
    prefix="/api/v1",
    tags=["front desk"],
    dependencies=[Depends(no_store), ReadsOnly],
    responses=NO_STORE_RESPONSES,
)

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag you read (e.g. `"3"`): the change is refused with 412 when the '
        "appointment changed since.",
    ),
]
ETAG_HEADER = {
    "description": 'The appointment\'s version (e.g. `"3"`): send it as If-Match with a change.',
    "schema": {"type": "string"},
}
ACTION_RESPONSES = {
    200: {"headers": {**NO_STORE_RESPONSES[200]["headers"], "ETag": ETAG_HEADER}},
    **problem_responses(APPOINTMENT_NOT_FOUND, 409, 412, 415),
}


def etag(appointment: Appointment) -> str:
    return f'"{appointment.version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match names; None for no header or ``*``; -1 when it names none."""
    if if_match is None or if_match.strip() == "*":
        return None
    for candidate in if_match.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        if tag.isdigit():
            return int(tag)
    return -1


def appointment_response(appointment: Appointment, settings: Settings) -> JSONResponse:
    body = AppointmentOut.of(appointment, settings.practice_timezone)
    return JSONResponse(jsonable_encoder(body), headers={"ETag": etag(appointment)})


@dataclass
class DeskAction:
    """What every desk action needs: who acts (a clerk, or an API key), the transaction, the
    clock, the retry guard."""

    caller: Caller
    session: AsyncSession
    settings: Settings
    clock: Clock
    idempotency: Idempotency
    expected_version: int | None

    async def perform(
        self, action: Action, appointment_id: uuid.UUID, command: BaseModel | None
    ) -> Response:
        """Run one action through the lifecycle's entry point, safe to retry with the same
        Idempotency-Key."""
        context = ActionContext(
            actor=Actor(
                source=EventSource.api,
                staff_id=self.caller.staff_id,
                api_key_id=self.caller.api_key_id,
            ),
            settings=self.settings,
            now=self.clock.now(),
            expected_version=self.expected_version,
        )

        async def produce() -> Response:
            appointment = await appointments.perform(
                self.session, context, action, appointment_id, command
            )
            return appointment_response(appointment, self.settings)

        return await self.idempotency.respond(
            self.session,
            scope=self.caller.idempotency_scope,
            payload=command.model_dump(mode="json") if command else None,
            produce=produce,
        )


async def desk_action(
    caller: AppointmentsWriter,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    idempotency: IdempotencyDep,
    if_match: IfMatch = None,
) -> DeskAction:
    return DeskAction(caller, session, settings, clock, idempotency, expected_version(if_match))


DeskActionDep = Annotated[DeskAction, Depends(desk_action)]


@desk_reads_router.get(
    "/appointments",
    summary="List appointment requests",
    response_model=AppointmentPage,
)
async def list_appointments(
    session: SessionDep,
    settings: SettingsDep,
    query: Annotated[ListQuery, Query()],
) -> Response:
    """Filter and page through requests. Dates are days in the practice's time zone, both ends
    included. `q` matches name, email, phone digits or reference. Default order: urgent first,
    then oldest first; by visit time when only confirmed, completed or no-show are asked for.
    Follow `next_cursor` with the same filters to walk the list."""
    page = await listing.list_appointments(
        session,
        filters=query.filters(),
        order=query.sort,
        limit=query.limit,
        cursor=query.cursor,
        timezone=settings.timezone,
    )
    # Rows straight to JSON (the documented AppointmentPage, tests hold them to it): no
    # model per row, no second validation of the response.
    items = [appointment_document(row, settings.practice_timezone) for row in page.items]
    body = orjson.dumps({"items": items, "next_cursor": page.next_cursor})
    return Response(body, media_type="application/json")


@desk_reads_router.get(
    "/appointments/{appointment_id}",
    summary="Read one appointment request",
    response_model=AppointmentOut,
    responses={
        200: {
            "headers": {
                **NO_STORE_RESPONSES[200]["headers"],
                "ETag": ETAG_HEADER,
            }
        },
        304: {
            "description": "Not modified (If-None-Match matched).",
            "headers": {"ETag": ETAG_HEADER},
        },
        **problem_responses(APPOINTMENT_NOT_FOUND),
    },
)
async def get_appointment(
    appointment_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """Everything in one request: the patient, the reason, the preferred days, the visit (in
    the practice's time zone, with the zone named) and the FHIR status. The `ETag` is the
    version: send it back as `If-Match` with a change, or as `If-None-Match` to get a 304."""
    appointment = await appointments.get_appointment(session, appointment_id)
    if if_none_match and expected_version(if_none_match) == appointment.version:
        return Response(status_code=304, headers={"ETag": etag(appointment)})
    return appointment_response(appointment, settings)


@desk_reads_router.get(
    "/appointments/{appointment_id}/events",
    summary="The appointment's history",
    responses=problem_responses(APPOINTMENT_NOT_FOUND),
)
async def list_appointment_events(
    appointment_id: uuid.UUID, session: SessionDep
) -> list[AppointmentEventOut]:
    """Every change, oldest first: who, when, from which status to which, why, and through what."""
    events = await appointments.list_events(session, appointment_id)
    return [AppointmentEventOut.model_validate(event, from_attributes=True) for event in events]


# The actions: one route each, made from the lifecycle's table (path segment, operation id,
# summary, description) and the action's step (the body it takes).


def _add_action_route(transition: Transition) -> None:
    action = transition.action
    command_model = appointments.STEPS[action].command

    async def act(
        appointment_id: uuid.UUID, desk: DeskAction, body: BaseModel | None = None
    ) -> Response:
        return await desk.perform(action, appointment_id, body)

    # FastAPI reads the parameters from the signature: the path's id, the body model this
    # action takes (none for complete and no-show), and the desk's dependencies.
    parameters = [
        inspect.Parameter("appointment_id", inspect.Parameter.KEYWORD_ONLY, annotation=uuid.UUID),
    ]
    if command_model is not None:
        parameters.append(
            inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=command_model)
        )
    parameters.append(
        inspect.Parameter("desk", inspect.Parameter.KEYWORD_ONLY, annotation=DeskActionDep)
    )
    act.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
    act.__name__ = transition.operation_id
    desk_router.add_api_route(
        f"/appointments/{{appointment_id}}/{transition.slug}",
        act,
        methods=["POST"],
        operation_id=transition.operation_id,
        summary=transition.summary,
        description=transition.description,
        response_model=AppointmentOut,
        dependencies=[Depends(require_json_body)] if command_model is not None else None,
        responses=ACTION_RESPONSES,
    )


for _transition in PEOPLES_TRANSITIONS:
    _add_action_route(_transition)
