"""HTTP routes for appointment requests: parse, call one service function, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.responses import Response

from booking.appointments import service as appointments
from booking.appointments.models import AppointmentStatus
from booking.appointments.rules import BookingRules, use_rules
from booking.appointments.schemas import AppointmentCreate, AppointmentCreated, ReasonCodeOut
from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep, require_json_body
from booking.errors import problem_responses
from booking.idempotency.dependencies import IdempotencyDep


async def booking_rules(settings: SettingsDep, clock: ClockDep) -> BookingRules:
    """Resolved before the body is validated, so the schema checks days against today's rules."""
    rules = BookingRules.from_settings(settings, clock.now())
    use_rules(rules)
    return rules


BookingRulesDep = Annotated[BookingRules, Depends(booking_rules)]

public_router = APIRouter(prefix="/api/v1")


@public_router.get(
    "/reason-codes",
    operation_id="listReasonCodes",
    summary="List the reasons a patient can give",
    tags=["reason codes"],
    responses=problem_responses(500),
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
    operation_id="createAppointment",
    summary="Request an appointment",
    tags=["appointments"],
    dependencies=[Depends(require_json_body)],
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
        **problem_responses(409, 413, 415, 422, 500),
    },
)
async def create_appointment(
    payload: AppointmentCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    idempotency: IdempotencyDep,
    _rules: BookingRulesDep,
) -> Response:
    """Store a patient's request for an appointment, as the practice's website form posts it.

    Send an `Idempotency-Key` so that a retry (a double click, a timeout) cannot create a
    second request. When the patient reports urgent symptoms, or pain with low mood, the
    response carries an `advisory` to show them right away.
    """

    async def create() -> Response:
        created = await appointments.create_appointment(
            session, request=payload, settings=settings, now=clock.now()
        )
        appointment = created.appointment
        body = AppointmentCreated(
            id=appointment.id,
            reference=appointment.reference,
            status=AppointmentStatus(appointment.status),
            urgent=appointment.is_urgent,
            advisory=created.advisory,
            created_at=appointment.created_at,
        )
        return JSONResponse(
            jsonable_encoder(body),
            status_code=201,
            headers={"Location": f"/api/v1/appointments/{appointment.id}"},
        )

    return await idempotency.respond(
        session, scope="public", payload=payload.model_dump(mode="json"), produce=create
    )
