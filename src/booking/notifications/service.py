"""Queue what a change must tell the world, in the change's own transaction.

One change of an appointment (one version) queues at most one message per channel and target;
the unique constraint on the outbox makes that a guarantee, not a convention.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.appointments.models import Appointment, appointments_table
from booking.config import Settings
from booking.db import OUTBOX_WRITTEN
from booking.notifications.models import Channel, OutboxMessage, OutboxStatus, outbox_messages

# The patient's email for each change; changes not listed send the patient nothing.
PATIENT_EMAIL_FOR = {
    "created": "request_received",
    "confirmed": "confirmed",
    "rescheduled": "rescheduled",
    "declined": "declined",
    "cancelled": "cancelled",
}

WEBHOOK_EVENT_FOR = {
    "created": "appointment.requested",
    "confirmed": "appointment.confirmed",
    "rescheduled": "appointment.rescheduled",
    "declined": "appointment.declined",
    "cancelled": "appointment.cancelled",
    "completed": "appointment.completed",
    "no_show": "appointment.no_show",
}


def visit_fields(appointment: Mapping[str, Any]) -> dict[str, Any]:
    """Ids, status and times: what a webhook may carry (no personal or health data)."""
    provider_id, start_at, end_at = (
        appointment["provider_id"],
        appointment["start_at"],
        appointment["end_at"],
    )
    return {
        "appointment_id": str(appointment["id"]),
        "reference": appointment["reference"],
        "status": appointment["status"],
        "version": appointment["version"],
        "provider_id": str(provider_id) if provider_id else None,
        "start": start_at.isoformat() if start_at else None,
        "end": end_at.isoformat() if end_at else None,
    }


def notification_rows(
    *,
    appointment: Mapping[str, Any],
    action: str,
    message_to_patient: str | None,
    settings: Settings,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The outbox rows one change of an appointment queues, as column values.

    ``appointment`` holds the appointment's column values after the change (a row mapping or
    ``appointment_values`` of a model).
    """
    rows: list[dict[str, Any]] = []

    def queue(channel: Channel, event: str, payload: dict[str, Any], target: str = "") -> None:
        rows.append(
            {
                "id": uuid.uuid4(),
                "channel": channel,
                "event": event,
                "target": target,
                "appointment_id": appointment["id"],
                "appointment_version": appointment["version"],
                "payload": payload,
                "status": OutboxStatus.pending,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )

    visit = visit_fields(appointment)
    if action in PATIENT_EMAIL_FOR:
        queue(
            Channel.patient_email,
            PATIENT_EMAIL_FOR[action],
            {
                **visit,
                "first_name": appointment["first_name"],
                "email": appointment["email"],
                "calendar_sequence": appointment["calendar_sequence"],
                "message": message_to_patient,
            },
        )
    if action == "created":
        queue(Channel.desk_email, "new_request", visit)
    for url in settings.webhook_urls:
        event = {
            "id": str(uuid.uuid4()),
            "type": WEBHOOK_EVENT_FOR[action],
            "created_at": now.isoformat(),
            "data": visit,
        }
        queue(Channel.webhook, WEBHOOK_EVENT_FOR[action], event, target=url)
    return rows


def appointment_values(appointment: Appointment) -> dict[str, Any]:
    return {column.name: getattr(appointment, column.name) for column in appointments_table.columns}


def queue_notifications(
    session: AsyncSession,
    *,
    appointment: Appointment,
    action: str,
    message_to_patient: str | None,
    settings: Settings,
    now: dt.datetime,
) -> None:
    for row in notification_rows(
        appointment=appointment_values(appointment),
        action=action,
        message_to_patient=message_to_patient,
        settings=settings,
        now=now,
    ):
        session.add(OutboxMessage(**row))
    session.info[OUTBOX_WRITTEN] = True


# --- operating the outbox (`booking outbox`) ---------------------------------------------------


async def list_messages(
    session: AsyncSession, *, statuses: list[OutboxStatus], limit: int = 200
) -> list[OutboxMessage]:
    statement = (
        select(OutboxMessage)
        .where(col(OutboxMessage.status).in_([status.value for status in statuses]))
        .order_by(col(OutboxMessage.created_at))
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def retry_dead(
    session: AsyncSession, *, message_id: uuid.UUID | None, now: dt.datetime
) -> int:
    """Give dead messages (one, or all with ``message_id=None``) a fresh set of attempts."""
    table = outbox_messages
    statement = (
        update(table)
        .where(table.c.status == OutboxStatus.dead)
        .values(
            status=OutboxStatus.pending,
            attempts=0,
            next_attempt_at=now,
            locked_until=None,
            locked_by=None,
        )
    )
    if message_id is not None:
        statement = statement.where(table.c.id == message_id)
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]
