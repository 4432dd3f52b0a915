"""The rules of appointment requests. Services add and flush; the request's transaction commits."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.models import Appointment, AppointmentStatus
from booking.appointments.reasons import REASONS, ReasonCode, ReasonInfo
from booking.appointments.schemas import AppointmentCreate
from booking.config import Settings

# No 0/O, 1/I/L, U or 5/S look-alikes: easy to read out on the phone. 28**8 ≈ 3.8e11 codes.
REFERENCE_ALPHABET = "2346789ABCDEFGHJKMNPQRTVWXYZ"
_REFERENCE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class CreatedAppointment:
    appointment: Appointment
    advisory: str | None


def list_reasons() -> list[ReasonInfo]:
    return list(REASONS.values())


def new_reference() -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def advisory_for(request: AppointmentCreate, settings: Settings) -> str | None:
    """What the patient must read right away, before anyone from the practice calls back."""
    parts = []
    if request.urgent_symptoms:
        parts.append(
            "Some of the symptoms you told us about can be serious. Please do not wait for our "
            f"call: go to an emergency department now or call {settings.emergency_number}."
        )
    if request.reason_code == ReasonCode.mood_related_pain:
        parts.append(
            "If you are struggling or thinking about harming yourself, you can reach "
            f"{settings.crisis_line} at any time, day or night. In an emergency call "
            f"{settings.emergency_number}."
        )
    return " ".join(parts) or None


async def create_appointment(
    session: AsyncSession, *, request: AppointmentCreate, settings: Settings, now: dt.datetime
) -> CreatedAppointment:
    patient = request.patient
    appointment = Appointment(
        status=AppointmentStatus.requested,
        reference=new_reference(),
        first_name=patient.first_name,
        last_name=patient.last_name,
        email=patient.email,
        phone=patient.phone,
        date_of_birth=patient.date_of_birth,
        is_new_patient=patient.is_new_patient,
        reason_code=request.reason_code,
        reason_detail=request.reason_detail,
        preferred_windows=[window.model_dump(mode="json") for window in request.preferred_windows],
        contact_preference=request.contact_preference,
        urgent_symptoms=[symptom.value for symptom in request.urgent_symptoms],
        is_urgent=bool(request.urgent_symptoms),
        consent_at=now,
        created_at=now,
        updated_at=now,
    )
    await _insert_with_unique_reference(session, appointment)
    return CreatedAppointment(appointment, advisory_for(request, settings))


async def _insert_with_unique_reference(session: AsyncSession, appointment: Appointment) -> None:
    """The unique constraint decides; a clash (about one in 10^11) just draws a new code."""
    for attempt in range(_REFERENCE_ATTEMPTS):
        try:
            async with session.begin_nested():
                session.add(appointment)
                await session.flush()
            return
        except IntegrityError:
            if attempt == _REFERENCE_ATTEMPTS - 1:
                raise
            appointment.reference = new_reference()
