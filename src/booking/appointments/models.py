"""The appointment table."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

# The statuses are at home in lifecycle; they are read from here too.
from booking.appointments.lifecycle import SCHEDULED_STATUSES as SCHEDULED_STATUSES
from booking.appointments.lifecycle import STATUSES
from booking.appointments.lifecycle import AppointmentStatus as AppointmentStatus
from booking.db import UTCDateTime

# FHIR R4 Appointment.status for each of ours, for integrators.
FHIR_STATUS = {status: info.fhir for status, info in STATUSES.items()}


class ContactPreference(StrEnum):
    email = "email"
    phone = "phone"


class PartOfDay(StrEnum):
    morning = "morning"
    afternoon = "afternoon"
    any = "any"


def _quoted(values: Iterable[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in values)


def _one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({_quoted(values)})", name=f"{column}_known")


def _partial_index(name: str, *columns: str, where: str | tuple[str, str]) -> Index:
    """An index of the rows ``where`` holds, on both databases; ``where`` may be a pair
    (PostgreSQL's, SQLite's) where SQLite's planner needs the condition spelled as the queries
    spell it (a boolean compared to 1)."""
    postgresql, sqlite = (where, where) if isinstance(where, str) else where
    return Index(name, *columns, postgresql_where=text(postgresql), sqlite_where=text(sqlite))


_WAITING = "status = 'requested'"


class Appointment(SQLModel, table=True):
    """A patient's request, and once confirmed, the visit.

    No two confirmed visits of one provider overlap: on PostgreSQL an exclusion constraint, on
    SQLite a trigger (both in the migration ``no_overlapping_visits``) guarantee it.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        _one_of("status", AppointmentStatus),
        _one_of("contact_preference", ContactPreference),
        CheckConstraint(
            "(start_at IS NULL AND end_at IS NULL) OR (end_at > start_at)", name="time_range"
        ),
        CheckConstraint(
            f"status NOT IN ({_quoted(SCHEDULED_STATUSES)}) "
            "OR (start_at IS NOT NULL AND provider_id IS NOT NULL)",
            name="scheduled_has_time",
        ),
        # The desk's lists: triage (urgent first, oldest first), by time, and newest first.
        Index("ix_appointments_triage", "status", "is_urgent", "created_at", "id"),
        Index("ix_appointments_schedule", "status", "start_at", "id"),
        Index("ix_appointments_provider_time", "provider_id", "start_at"),
        Index("ix_appointments_created", "created_at", "id"),
        # The unfiltered triage list's urgent segment: urgent requests are few, and walking
        # ix_appointments_created would pass over every other request to find them.
        _partial_index(
            "ix_appointments_urgent_created",
            "created_at",
            "id",
            where=("is_urgent", "is_urgent = 1"),
        ),
        # The scheduler's expiry scans (booking.jobs): waiting requests by age and by their
        # last preferred day; partial, so they hold the open requests only.
        _partial_index("ix_appointments_waiting_since", "created_at", where=_WAITING),
        _partial_index("ix_appointments_waiting_until", "last_preferred_date", where=_WAITING),
        # The desk's digest: requests expired since the last one (an expired request is
        # never changed again, so updated_at is when it expired).
        _partial_index("ix_appointments_expired_since", "updated_at", where="status = 'expired'"),
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
    # The latest date in preferred_windows (set with them): once it
    # has passed, a request nobody answered expires.
    last_preferred_date: dt.date | None = None
    contact_preference: str = Field(sa_type=String(8))
    urgent_symptoms: list[str] = Field(sa_column=Column(JSON, nullable=False))
    is_urgent: bool = False
    # The patient would take an earlier time if one opens (the waitlist: booking.waitlist).
    earlier_if_possible: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # A confirmed patient asked for other days (their new preferred windows); a move clears it.
    move_requested_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

    provider_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("providers.id"), nullable=True)
    )
    start_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

    consent_at: dt.datetime = Field(sa_type=UTCDateTime)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    version: int = Field(default=1, description="Grows with every change; the ETag.")
    # Set by `booking purge` once the personal details are gone.
    anonymised_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The calendar file's SEQUENCE: grows when a booked time moves or is cancelled.
    calendar_sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class EventSource(StrEnum):
    api = "api"
    web = "web"
    patient = "patient"
    system = "system"


class AppointmentEvent(SQLModel, table=True):
    """One change of one appointment. Append-only: the database refuses updates."""

    __tablename__ = "appointment_events"
    __table_args__ = (
        _one_of("source", EventSource),
        # One event per version of the appointment: the history's order, kept by the database.
        UniqueConstraint("appointment_id", "version"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    appointment_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False)
    )
    version: int = Field(description="The appointment's version after this change.")
    occurred_at: dt.datetime = Field(sa_type=UTCDateTime)
    action: str = Field(sa_type=String(20))
    from_status: str | None = Field(default=None, sa_type=String(16))
    to_status: str = Field(sa_type=String(16))
    reason: str | None = Field(default=None, sa_type=Text)
    source: str = Field(sa_type=String(10))
    actor_staff_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("staff_accounts.id"), nullable=True)
    )
    # No foreign key: keys are revoked, never deleted, and SQLite can add a column with one
    # only by rebuilding this table (which would drop its append-only triggers).
    actor_api_key_id: uuid.UUID | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# The Core tables, for set-based statements on the hot path.
appointments_table: Table = Appointment.__table__  # type: ignore[attr-defined]
appointment_events: Table = AppointmentEvent.__table__  # type: ignore[attr-defined]
