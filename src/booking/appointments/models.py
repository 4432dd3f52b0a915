"""The appointment table."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, String, Text
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime


class AppointmentStatus(StrEnum):
    requested = "requested"
    confirmed = "confirmed"
    completed = "completed"
    no_show = "no_show"
    declined = "declined"
    cancelled = "cancelled"


class ContactPreference(StrEnum):
    email = "email"
    phone = "phone"


class PartOfDay(StrEnum):
    morning = "morning"
    afternoon = "afternoon"
    any = "any"


def _one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_known")


class Appointment(SQLModel, table=True):
    __tablename__ = "appointments"
    __table_args__ = (
        _one_of("status", AppointmentStatus),
        _one_of("contact_preference", ContactPreference),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    reference: str = Field(sa_type=String(9), unique=True)
    status: str = Field(sa_type=String(16), default=AppointmentStatus.requested)

    first_name: str = Field(sa_type=String(100))
    last_name: str = Field(sa_type=String(100))
    email: str = Field(sa_type=String(254))
    phone: str = Field(sa_type=String(20), description="E.164")
    date_of_birth: dt.date | None = None
    is_new_patient: bool

    reason_code: str = Field(sa_type=String(40))
    reason_detail: str | None = Field(default=None, sa_type=Text)
    preferred_windows: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    contact_preference: str = Field(sa_type=String(8))
    urgent_symptoms: list[str] = Field(sa_column=Column(JSON, nullable=False))
    is_urgent: bool = False

    consent_at: dt.datetime = Field(sa_type=UTCDateTime)
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    version: int = Field(default=1, description="Grows with every change; the ETag.")
