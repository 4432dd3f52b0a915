"""Manage links: an unguessable token per patient email, stored only as its SHA-256.

A token opens exactly one appointment and expires after BOOKING_MANAGE_LINK_DAYS. Once the
appointment has ended (declined, cancelled, completed, no-show, or its visit is over) the link
still shows it, read-only: every link a patient was ever sent tells them where they stand (and
how to book again) instead of going dead. Unknown and expired links get the same 404.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments import lifecycle
from booking.appointments import service as appointments
from booking.appointments.lifecycle import Action
from booking.appointments.models import Appointment, AppointmentStatus
from booking.appointments.schemas import MoveRequest, ReasonRequest
from booking.config import Settings
from booking.manage.errors import ManagedAppointmentClosed, ManageLinkInvalid, MoveNeedsAVisit
from booking.manage.models import ManageToken
from booking.security import token_hash

PATIENT = appointments.PATIENT


async def mint_manage_token(
    session: AsyncSession,
    *,
    appointment_id: uuid.UUID,
    now: dt.datetime,
    days: int,
    flush: bool = True,
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        ManageToken(
            token_hash=token_hash(token),
            appointment_id=appointment_id,
            created_at=now,
            expires_at=now + dt.timedelta(days=days),
        )
    )
    if flush:
        await session.flush()
    return token


def is_open(appointment: Appointment, now: dt.datetime) -> bool:
    return lifecycle.is_open(appointment.status, appointment.end_at, now)


def is_movable(appointment: Appointment) -> bool:
    """Only a confirmed visit can be asked to move (its time stays booked meanwhile); whether
    it is still to come is is_open's to say."""
    return appointment.status == AppointmentStatus.confirmed


# What an unknown, expired or overlong link answers (also the OpenAPI document's example).
LINK_INVALID = ManageLinkInvalid("The link has expired. Call the practice for help.")


async def appointment_for_token(
    session: AsyncSession, *, token: str, now: dt.datetime
) -> Appointment:
    invalid = ManageLinkInvalid(LINK_INVALID.detail)
    if len(token) > 100:
        raise invalid
    record = await session.get(ManageToken, token_hash(token))
    if record is None or record.expires_at <= now:
        raise invalid
    appointment = await session.get(Appointment, record.appointment_id)
    if appointment is None:
        raise invalid
    return appointment


async def cancel_by_patient(
    session: AsyncSession, *, token: str, settings: Settings, now: dt.datetime
) -> Appointment:
    appointment = await appointment_for_token(session, token=token, now=now)
    if not is_open(appointment, now):
        # Also a visit whose time is over but not yet marked: the desk decides, not the link.
        raise ManagedAppointmentClosed(
            "This appointment has ended and can no longer be cancelled online. Call the "
            f"practice at {settings.practice_phone}."
        )
    context = appointments.ActionContext(actor=PATIENT, settings=settings, now=now)
    command = ReasonRequest(reason="Cancelled by the patient through the link in their email")
    return await appointments.perform(session, context, Action.cancel, appointment.id, command)


async def set_earlier_if_possible(
    session: AsyncSession, *, token: str, wanted: bool, settings: Settings, now: dt.datetime
) -> Appointment:
    """The patient joins or leaves the waitlist for an earlier time (an open request only).
    No email, and offers already sent stand; but the version moves, as the desk's copy of the
    appointment (its ETag) shows the flag."""
    appointment = await appointment_for_token(session, token=token, now=now)
    if not is_open(appointment, now):
        raise ManagedAppointmentClosed(
            "This appointment has ended and can no longer be changed online. Call the "
            f"practice at {settings.practice_phone}."
        )
    if appointment.earlier_if_possible != wanted:
        appointment.earlier_if_possible = wanted
        appointment.version += 1
        appointment.updated_at = now
    await session.flush()
    return appointment


async def request_move(
    session: AsyncSession,
    *,
    token: str,
    request: MoveRequest,
    settings: Settings,
    now: dt.datetime,
) -> Appointment:
    """A confirmed patient asks for other days: their new preferred windows replace the old
    (kept in the history), and the desk sees "asks to move" until it moves the visit. The
    visit stays booked meanwhile. Anything but an upcoming confirmed visit is a 409."""
    appointment = await appointment_for_token(session, token=token, now=now)

    def still_movable(locked: Appointment) -> None:
        if not (is_movable(locked) and is_open(locked, now)):
            raise MoveNeedsAVisit(
                "Only a confirmed visit that has not happened yet can be moved. Call the "
                f"practice at {settings.practice_phone}."
            )

    windows = [window.model_dump(mode="json") for window in request.preferred_windows]
    context = appointments.ActionContext(actor=PATIENT, settings=settings, now=now)
    change = appointments.Change(
        details={"preferred_windows": windows, "previous_windows": appointment.preferred_windows}
    )
    # Checked on the locked row: a desk cancel at the same moment wins, and this is a 409.
    appointment = await appointments.record(
        session,
        context,
        appointment.id,
        "move_requested",
        change,
        allowed=still_movable,
        fields={
            "preferred_windows": windows,
            # Kept true to the windows (the expiry job reads it for requests only).
            "last_preferred_date": max(window.date for window in request.preferred_windows),
            "move_requested_at": now,
        },
    )
    return appointment
