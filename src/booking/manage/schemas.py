from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from booking.appointments.models import Appointment, AppointmentStatus
from booking.config import Settings


class ManageView(BaseModel):
    """What the link shows: the request's state and time, nothing the patient did not know."""

    reference: str
    status: AppointmentStatus
    start: dt.datetime | None = Field(examples=["2026-12-07T09:30:00-06:00"])
    end: dt.datetime | None
    timezone: str
    practice_name: str
    practice_phone: str
    can_cancel: bool
    earlier_if_possible: bool = Field(
        description="The patient is offered an earlier time by email if one opens."
    )
    move_requested: bool = Field(description="The patient asked to move this visit.")

    @classmethod
    def of(cls, appointment: Appointment, settings: Settings, *, can_cancel: bool) -> ManageView:
        zone = settings.timezone
        return cls(
            reference=appointment.reference,
            status=AppointmentStatus(appointment.status),
            start=appointment.start_at.astimezone(zone) if appointment.start_at else None,
            end=appointment.end_at.astimezone(zone) if appointment.end_at else None,
            timezone=settings.practice_timezone,
            practice_name=settings.practice_name,
            practice_phone=settings.practice_phone,
            can_cancel=can_cancel,
            earlier_if_possible=appointment.earlier_if_possible,
            move_requested=appointment.move_requested_at is not None,
        )
