"""The patient's link, as JSON: view one appointment, cancel it. A GET never changes anything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from booking.db import SessionDep
from booking.dependencies import NO_STORE_RESPONSES, ClockDep, SettingsDep, no_store
from booking.idempotency.dependencies import IdempotencyDep
from booking.manage import service as manage
from booking.manage.errors import ManagedAppointmentClosed, ManageLinkInvalid
from booking.manage.schemas import ManageView
from booking.problem_docs import problem_responses

LINK_INVALID = ManageLinkInvalid("This link has expired; ask the practice for a new one.")

router = APIRouter(
    prefix="/api/v1/manage",
    tags=["patient self-service"],
    dependencies=[Depends(no_store)],
    responses=NO_STORE_RESPONSES,
)

Token = Annotated[str, Path(max_length=100, description="The token from the patient's email.")]


@router.get(
    "/{token}",
    operation_id="getManagedAppointment",
    summary="See the appointment a patient's link opens",
    responses=problem_responses(LINK_INVALID, 422, 500),
)
async def get_managed_appointment(
    token: Token, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> ManageView:
    """The state and time of the one request the link opens. Reading changes nothing. An
    ended request is shown read-only (`can_cancel` false); an unknown or expired link is a 404."""
    now = clock.now()
    appointment = await manage.appointment_for_token(session, token=token, now=now)
    return ManageView.of(appointment, settings, can_cancel=manage.is_open(appointment, now))


@router.post(
    "/{token}/cancel",
    operation_id="cancelManagedAppointment",
    summary="Cancel the appointment a patient's link opens",
    response_model=ManageView,
    responses=problem_responses(
        LINK_INVALID,
        ManagedAppointmentClosed("This appointment has already been cancelled."),
        422,
        500,
    ),
)
async def cancel_managed_appointment(
    token: Token,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    idempotency: IdempotencyDep,
) -> Response:
    """The patient cancels their own request or visit; the desk is emailed and sees it in the
    history. An ended appointment is a 409. With an `Idempotency-Key`, a retry gets the first
    answer (the cancellation) rather than the 409."""

    async def produce() -> ManageView:
        appointment = await manage.cancel_by_patient(
            session, token=token, settings=settings, now=clock.now()
        )
        return ManageView.of(appointment, settings, can_cancel=False)

    # Keys of the patient's link; the fingerprint holds the path, so the link's token.
    return await idempotency.respond_json(session, scope="manage", payload=None, produce=produce)
