"""/manage/<token>: the patient's own request. A GET never changes anything; cancelling takes a
POST after a confirmation page, so mail scanners that follow links cannot cancel."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError
from starlette.responses import HTMLResponse

from booking.appointments.models import Appointment
from booking.appointments.rules import BookingRules, rules_context
from booking.appointments.schemas import MoveRequest
from booking.manage import service as manage
from booking.manage.errors import ManagedAppointmentClosed, ManageLinkInvalid, MoveNeedsAVisit
from booking.manage.schemas import ManageView
from booking.web.book import form_errors, request_from_form
from booking.web.links import LinkCall, LinkCallDep
from booking.web.pages import STATUS_LABELS, local_time

router = APIRouter(include_in_schema=False)


def _page(
    call: LinkCall,
    appointment: Appointment,
    *,
    can_cancel: bool,
    confirm_cancel: bool = False,
    notice: str | None = None,
    status_code: int = 200,
    move_values: dict[str, Any] | None = None,
    move_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    view = ManageView.of(appointment, call.settings, can_cancel=can_cancel)
    return call.page(
        "manage.html",
        status_code=status_code,
        view=view,
        status_label=STATUS_LABELS[view.status],
        when=local_time(call.settings)(appointment.start_at) if appointment.start_at else None,
        confirm_cancel=confirm_cancel,
        notice=notice,
        can_move=can_cancel and manage.is_movable(appointment),
        values=defaultdict(str, move_values or {}),
        errors=move_errors or {},
    )


def _invalid(call: LinkCall, error: ManageLinkInvalid) -> HTMLResponse:
    return call.not_working(error, "This link does not work any more")


@router.get("/manage/{token}")
async def manage_page(call: LinkCallDep) -> HTMLResponse:
    return await _show(call, confirm_cancel=False)


@router.get("/manage/{token}/cancel")
async def manage_cancel_confirmation(call: LinkCallDep) -> HTMLResponse:
    """The question before the POST that cancels (when the appointment can still be)."""
    return await _show(call, confirm_cancel=True)


async def _show(call: LinkCall, *, confirm_cancel: bool) -> HTMLResponse:
    now = call.clock.now()
    try:
        appointment = await manage.appointment_for_token(call.session, token=call.token, now=now)
    except ManageLinkInvalid as error:
        return _invalid(call, error)
    can_cancel = manage.is_open(appointment, now)
    return _page(
        call, appointment, can_cancel=can_cancel, confirm_cancel=confirm_cancel and can_cancel
    )


async def _as_it_stands(call: LinkCall, now: dt.datetime) -> HTMLResponse:
    """The appointment ended meanwhile (a second tab, the desk): show where it stands, 409."""
    appointment = await manage.appointment_for_token(call.session, token=call.token, now=now)
    return _page(call, appointment, can_cancel=False, status_code=409)


@router.post("/manage/{token}/cancel")
async def manage_cancel(call: LinkCallDep) -> HTMLResponse:
    try:
        appointment = await manage.cancel_by_patient(
            call.session, token=call.token, settings=call.settings, now=call.clock.now()
        )
    except ManageLinkInvalid as error:
        return _invalid(call, error)
    except ManagedAppointmentClosed:
        return await _as_it_stands(call, call.clock.now())
    notice = "Your appointment is cancelled. The practice has been told."
    return _page(call, appointment, can_cancel=False, notice=notice)


@router.post("/manage/{token}/earlier")
async def manage_earlier(call: LinkCallDep) -> HTMLResponse:
    """Join or leave the waitlist for an earlier time (the form's checkbox; no JS needed)."""
    form = await call.request.form()
    wanted = form.get("earlier_if_possible") == "true"
    now = call.clock.now()
    try:
        appointment = await manage.set_earlier_if_possible(
            call.session, token=call.token, wanted=wanted, settings=call.settings, now=now
        )
    except ManageLinkInvalid as error:
        return _invalid(call, error)
    except ManagedAppointmentClosed:
        return await _as_it_stands(call, now)
    notice = (
        "We will email you if an earlier time opens."
        if wanted
        else "We will not offer you earlier times."
    )
    return _page(call, appointment, can_cancel=True, notice=notice)


@router.post("/manage/{token}/move")
async def manage_move(call: LinkCallDep) -> HTMLResponse:
    """A confirmed patient asks for other days (the same day fields as /book)."""
    form = await call.request.form()
    now = call.clock.now()
    body, days = request_from_form(form)
    values = {name: value for name, value in form.items() if isinstance(value, str)}
    try:
        appointment = await manage.appointment_for_token(call.session, token=call.token, now=now)
    except ManageLinkInvalid as error:
        return _invalid(call, error)
    can_cancel = manage.is_open(appointment, now)
    rules = rules_context(BookingRules.from_settings(call.settings, now))
    try:
        command = MoveRequest.model_validate(
            {"preferred_windows": body["preferred_windows"]}, context=rules
        )
    except ValidationError as error:
        errors = form_errors(error, days) or {"date_1": "Choose at least one day."}
        return _page(
            call,
            appointment,
            can_cancel=can_cancel,
            status_code=422,
            move_values=values,
            move_errors=errors,
        )
    try:
        appointment = await manage.request_move(
            call.session, token=call.token, request=command, settings=call.settings, now=now
        )
    except MoveNeedsAVisit as error:
        return _page(call, appointment, can_cancel=can_cancel, status_code=409, notice=error.detail)
    notice = (
        "The practice has your new days and will call or email you with a new time. "
        "Your current appointment stays booked until then."
    )
    return _page(call, appointment, can_cancel=True, notice=notice)
