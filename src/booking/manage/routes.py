"""The patient's link, as JSON: view one appointment, cancel it. A GET never changes anything."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from starlette.responses import Response

from booking.appointments.rules import BookingRules, rules_context
from booking.appointments.schemas import MoveRequest
from booking.db import SessionDep
from booking.dependencies import (
    ClockDep,
    SettingsDep,
    emailed_link_router,
    emailed_token,
    parse_json_body,
    require_json_body,
)
from booking.manage import service as manage
from booking.manage.dependencies import LinkChangeDep
from booking.manage.errors import ManagedAppointmentClosed
from booking.manage.schemas import ManageView
from booking.openapi import body_checked_in_route
from booking.problem_docs import problem_responses

LINK_INVALID = manage.LINK_INVALID

router = emailed_link_router("/api/v1/manage")

Token = Annotated[str, emailed_token("patient's email")]


@router.get(
    "/{token}",
    summary="See the appointment a patient's link opens",
    responses=problem_responses(LINK_INVALID),
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
    summary="Cancel the appointment a patient's link opens",
    response_model=ManageView,
    responses=problem_responses(
        LINK_INVALID,
        ManagedAppointmentClosed("This appointment has already been cancelled."),
    ),
)
async def cancel_managed_appointment(token: Token, change: LinkChangeDep) -> Response:
    """The patient cancels their own request or visit; the desk is emailed and sees it in the
    history. An ended appointment is a 409. With an `Idempotency-Key`, a retry gets the first
    answer (the cancellation) rather than the 409."""

    async def produce() -> ManageView:
        appointment = await manage.cancel_by_patient(
            change.session, token=token, settings=change.settings, now=change.clock.now()
        )
        return ManageView.of(appointment, change.settings, can_cancel=False)

    return await change.respond(produce, scope="manage")


@router.post(
    "/{token}/move-request",
    summary="Ask to move the visit a patient's link opens to other days",
    openapi_extra=body_checked_in_route(MoveRequest),
    responses=problem_responses(404, 409, 415),
)
async def request_move_of_managed_appointment(
    token: Token, request: Request, change: LinkChangeDep
) -> Response:
    """A confirmed patient asks for other days: `preferred_windows` as in a new request (1 to 3
    open days from today to the horizon, no duplicates). The visit stays booked; the desk sees
    "asks to move" and the days asked for, and the history records it. 409 `not-confirmed`
    for a request that is not an upcoming confirmed visit. With an `Idempotency-Key`, a retry
    gets the first answer."""
    await require_json_body(request)
    session, settings, now = change.session, change.settings, change.clock.now()
    await manage.appointment_for_token(session, token=token, now=now)  # an unknown link: 404
    rules = rules_context(BookingRules.from_settings(settings, now))
    command = parse_json_body(await request.body(), MoveRequest, rules)

    async def produce() -> ManageView:
        appointment = await manage.request_move(
            session, token=token, request=command, settings=settings, now=now
        )
        return ManageView.of(appointment, settings, can_cancel=manage.is_open(appointment, now))

    return await change.respond(produce, scope="manage", payload=command.model_dump(mode="json"))
