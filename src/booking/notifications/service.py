"""Queue what a change must tell the world, in the change's own transaction.

One change of an appointment (one version) queues at most one message per channel and target;
the unique constraint on the outbox makes that a guarantee, not a convention.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.models import Appointment
from booking.config import Settings
from booking.db import OUTBOX_WRITTEN
from booking.notifications.models import Channel, OutboxMessage

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


def visit_fields(appointment: Appointment) -> dict[str, Any]:
    """Ids, status and times: what a webhook may carry (no personal or health data)."""
    return {
        "appointment_id": str(appointment.id),
        "reference": appointment.reference,
        "status": appointment.status,
        "version": appointment.version,
        "provider_id": str(appointment.provider_id) if appointment.provider_id else None,
        "start": appointment.start_at.isoformat() if appointment.start_at else None,
        "end": appointment.end_at.isoformat() if appointment.end_at else None,
    }


def queue_notifications(
    session: AsyncSession,
    *,
    appointment: Appointment,
    action: str,
    message_to_patient: str | None,
    settings: Settings,
    now: dt.datetime,
) -> None:
    def queue(channel: Channel, event: str, payload: dict[str, Any], target: str = "") -> None:
        session.add(
            OutboxMessage(
                channel=channel,
                event=event,
                target=target,
                appointment_id=appointment.id,
                appointment_version=appointment.version,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
        )

    visit = visit_fields(appointment)
    if action in PATIENT_EMAIL_FOR:
        queue(
            Channel.patient_email,
            PATIENT_EMAIL_FOR[action],
            {
                **visit,
                "first_name": appointment.first_name,
                "email": appointment.email,
                "calendar_sequence": appointment.calendar_sequence,
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
    session.info[OUTBOX_WRITTEN] = True
