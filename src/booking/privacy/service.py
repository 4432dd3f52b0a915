"""Anonymise closed requests older than the retention period.

What goes: names, email, phone, date of birth, the reason detail, the symptoms, the audit
trail (its reasons are free text), manage links and queued or sent messages. What stays, for
the practice's statistics: ids, reference, status, reason code, urgency, times.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.appointments.lifecycle import CLOSED_STATUSES
from booking.appointments.models import Appointment, AppointmentEvent
from booking.idempotency.service import purge_expired_keys
from booking.manage.models import ManageToken
from booking.notifications.models import OutboxMessage


@dataclass(frozen=True)
class PurgeResult:
    anonymised: int
    expired_idempotency_keys: int


async def purge(
    session: AsyncSession, *, now: dt.datetime, retention_days: int, dry_run: bool = False
) -> PurgeResult:
    cutoff = now - dt.timedelta(days=retention_days)
    ids = list(
        (
            await session.execute(
                select(col(Appointment.id)).where(
                    col(Appointment.status).in_([status.value for status in CLOSED_STATUSES]),
                    col(Appointment.updated_at) < cutoff,
                    col(Appointment.anonymised_at).is_(None),
                )
            )
        ).scalars()
    )
    if dry_run:
        return PurgeResult(len(ids), 0)
    for chunk in (ids[start : start + 500] for start in range(0, len(ids), 500)):
        await session.execute(
            delete(AppointmentEvent).where(col(AppointmentEvent.appointment_id).in_(chunk))
        )
        await session.execute(delete(ManageToken).where(col(ManageToken.appointment_id).in_(chunk)))
        await session.execute(
            delete(OutboxMessage).where(col(OutboxMessage.appointment_id).in_(chunk))
        )
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id).in_(chunk))
            .values(
                first_name="",
                last_name="",
                email="",
                phone="",
                date_of_birth=None,
                reason_detail=None,
                urgent_symptoms=[],
                anonymised_at=now,
            )
        )
    expired = await purge_expired_keys(session, now=now)
    return PurgeResult(len(ids), expired)
