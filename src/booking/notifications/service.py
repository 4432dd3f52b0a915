"""Queue what a change must tell the world, in the change's own transaction.

One change of an appointment (one version) queues at most one message per channel and target;
the unique constraint on the outbox makes that a guarantee, not a convention.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.appointments.models import Appointment, EventSource
from booking.config import Settings
from booking.db import OUTBOX_WRITTEN
from booking.notifications.models import Channel, OutboxMessage, OutboxStatus, outbox_messages
from booking.security import sign

RECEIPT_CAP_WINDOW = dt.timedelta(hours=24)

# The patient's email for each change; changes not listed send the patient nothing.
PATIENT_EMAIL_FOR = {
    "created": "request_received",
    "confirmed": "confirmed",
    "rescheduled": "rescheduled",
    "declined": "declined",
    "cancelled": "cancelled",
}


def desk_email_for(action: str, source: EventSource) -> str | None:
    """The front desk hears of what it did not do itself: a new request, a patient's cancel."""
    if action == "created":
        return "new_request"
    if action == "cancelled" and source == EventSource.patient:
        return "patient_cancelled"
    return None


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


def recipient_hash(email: str, settings: Settings) -> str:
    """Keyed with the secret key (an unkeyed hash of a guessable address is the address)."""
    return sign(settings.secret_key, "receipt-cap", email.strip().lower())


async def receipt_allowed(
    session: AsyncSession, *, email: str, settings: Settings, now: dt.datetime
) -> bool:
    """May this address get one more request-received email? At most
    BOOKING_RECEIPTS_PER_ADDRESS_PER_DAY in any 24 hours, so that the public form cannot be
    used to mail a stranger over and over. One indexed count, stopped at the cap."""
    cap = settings.receipts_per_address_per_day
    if cap == 0:
        return True
    table = outbox_messages
    recent = (
        select(literal(1))
        .where(
            table.c.recipient_hash == recipient_hash(email, settings),
            table.c.created_at > now - RECEIPT_CAP_WINDOW,
        )
        .limit(cap)
        .subquery()
    )
    sent = await session.scalar(select(func.count()).select_from(recent))
    return (sent or 0) < cap


def queue_notifications(
    session: AsyncSession,
    *,
    appointment: Appointment,
    action: str,
    source: EventSource,
    message_to_patient: str | None,
    notify_patient: bool = True,
    settings: Settings,
    now: dt.datetime,
) -> None:
    def queue(
        channel: Channel,
        event: str,
        payload: dict[str, Any],
        target: str = "",
        recipient: str | None = None,
    ) -> None:
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
                recipient_hash=recipient,
            )
        )

    visit = visit_fields(appointment)
    if action in PATIENT_EMAIL_FOR and notify_patient:
        template = PATIENT_EMAIL_FOR[action]
        queue(
            Channel.patient_email,
            template,
            {
                **visit,
                "first_name": appointment.first_name,
                "email": appointment.email,
                "calendar_sequence": appointment.calendar_sequence,
                "message": message_to_patient,
            },
            # Only the emails the cap counts carry the hash.
            recipient=(
                recipient_hash(appointment.email, settings)
                if template == "request_received"
                else None
            ),
        )
    desk_email = desk_email_for(action, source)
    if desk_email is not None:
        # Urgency marks the desk's subject line; webhooks keep to ids, status and times.
        queue(Channel.desk_email, desk_email, {**visit, "urgent": appointment.is_urgent})
    for url in settings.webhook_urls:
        event = {
            "id": str(uuid.uuid4()),
            "type": WEBHOOK_EVENT_FOR[action],
            "created_at": now.isoformat(),
            "data": visit,
        }
        queue(Channel.webhook, WEBHOOK_EVENT_FOR[action], event, target=url)
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
