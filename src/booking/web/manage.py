"""/manage/<token>: the patient's own request. A GET never changes anything; cancelling takes a
POST after a confirmation page, so mail scanners that follow links cannot cancel."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse

from booking.appointments.models import Appointment
from booking.appointments.rules import BookingRules, rules_context
from booking.appointments.schemas import MoveRequest
from booking.clock import Clock
from booking.config import Settings
from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep
from booking.errors import DomainError
from booking.manage import service as manage
from booking.manage.errors import ManagedAppointmentClosed, ManageLinkInvalid, MoveNeedsAVisit
from booking.manage.schemas import ManageView
from booking.web.book import form_errors, request_from_form
from booking.web.pages import NO_FRAMING, STATUS_LABELS, local_time, render

router = APIRouter(include_in_schema=False)

# The token is a secret: never sent on to other sites through the Referer header.
HEADERS = {**NO_FRAMING, "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _page(
    request: Request,
    settings: Settings,
    appointment: Appointment,
    token: str,
    *,
    can_cancel: bool,
    confirm_cancel: bool = False,
    notice: str | None = None,
    status_code: int = 200,
    move_values: dict[str, Any] | None = None,
    move_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    view = ManageView.of(appointment, settings, can_cancel=can_cancel)
    return render(
        request,
        "manage.html",
        settings,
        status_code=status_code,
        headers=HEADERS,
        view=view,
        token=token,
        status_label=STATUS_LABELS[view.status],
        when=local_time(settings)(appointment.start_at) if appointment.start_at else None,
        confirm_cancel=confirm_cancel,
        notice=notice,
        can_move=can_cancel and appointment.status == "confirmed",
        values=defaultdict(str, move_values or {}),
        errors=move_errors or {},
    )


def link_not_working(
    request: Request, settings: Settings, error: DomainError, heading: str
) -> HTMLResponse:
    """The 404 page of an emailed link (the patient's, an offer's) that opens nothing."""
    return render(
        request,
        "message.html",
        settings,
        status_code=404,
        headers=HEADERS,
        heading=heading,
        text=error.detail,
        phone=settings.practice_phone,
    )


def _invalid(request: Request, settings: Settings, error: ManageLinkInvalid) -> HTMLResponse:
    return link_not_working(request, settings, error, "This link does not work any more")


@router.get("/manage/{token}")
async def manage_page(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    return await _show(token, request, session, settings, clock, confirm_cancel=False)


@router.get("/manage/{token}/cancel")
async def manage_cancel_confirmation(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    """The question before the POST that cancels (when the appointment can still be)."""
    return await _show(token, request, session, settings, clock, confirm_cancel=True)


async def _show(
    token: str,
    request: Request,
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    *,
    confirm_cancel: bool,
) -> HTMLResponse:
    now = clock.now()
    try:
        appointment = await manage.appointment_for_token(session, token=token, now=now)
    except ManageLinkInvalid as error:
        return _invalid(request, settings, error)
    can_cancel = manage.is_open(appointment, now)
    return _page(
        request,
        settings,
        appointment,
        token,
        can_cancel=can_cancel,
        confirm_cancel=confirm_cancel and can_cancel,
    )


@router.post("/manage/{token}/cancel")
async def manage_cancel(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    try:
        appointment = await manage.cancel_by_patient(
            session, token=token, settings=settings, now=clock.now()
        )
    except ManageLinkInvalid as error:
        return _invalid(request, settings, error)
    except ManagedAppointmentClosed:
        # Ended meanwhile (a second tab, the desk): show where it stands, change nothing.
        appointment = await manage.appointment_for_token(session, token=token, now=clock.now())
        return _page(request, settings, appointment, token, can_cancel=False, status_code=409)
    return _page(
        request,
        settings,
        appointment,
        token,
        can_cancel=False,
        notice="Your appointment is cancelled. The practice has been told.",
    )


@router.post("/manage/{token}/earlier")
async def manage_earlier(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    """Join or leave the waitlist for an earlier time (the form's checkbox; no JS needed)."""
    form = await request.form()
    wanted = form.get("earlier_if_possible") == "true"
    now = clock.now()
    try:
        appointment = await manage.set_earlier_if_possible(
            session, token=token, wanted=wanted, settings=settings, now=now
        )
    except ManageLinkInvalid as error:
        return _invalid(request, settings, error)
    except ManagedAppointmentClosed:
        appointment = await manage.appointment_for_token(session, token=token, now=now)
        return _page(request, settings, appointment, token, can_cancel=False, status_code=409)
    notice = (
        "We will email you if an earlier time opens."
        if wanted
        else "We will not offer you earlier times."
    )
    return _page(request, settings, appointment, token, can_cancel=True, notice=notice)


@router.post("/manage/{token}/move")
async def manage_move(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    """A confirmed patient asks for other days (the same day fields as /book)."""
    form = await request.form()
    now = clock.now()
    body, days = request_from_form(form)
    values = {name: value for name, value in form.items() if isinstance(value, str)}
    try:
        appointment = await manage.appointment_for_token(session, token=token, now=now)
    except ManageLinkInvalid as error:
        return _invalid(request, settings, error)
    can_cancel = manage.is_open(appointment, now)
    rules = rules_context(BookingRules.from_settings(settings, now))
    try:
        command = MoveRequest.model_validate(
            {"preferred_windows": body["preferred_windows"]}, context=rules
        )
    except ValidationError as error:
        errors = form_errors(error, days) or {"date_1": "Choose at least one day."}
        return _page(
            request,
            settings,
            appointment,
            token,
            can_cancel=can_cancel,
            status_code=422,
            move_values=values,
            move_errors=errors,
        )
    try:
        appointment = await manage.request_move(
            session, token=token, request=command, settings=settings, now=now
        )
    except MoveNeedsAVisit as error:
        return _page(
            request,
            settings,
            appointment,
            token,
            can_cancel=can_cancel,
            status_code=409,
            notice=error.detail,
        )
    return _page(
        request,
        settings,
        appointment,
        token,
        can_cancel=True,
        notice="The practice has your new days and will call or email you with a new time. "
        "Your current appointment stays booked until then.",
    )
