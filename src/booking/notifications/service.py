"""Queue what a change must tell the world, in the change's own transaction.

One change of an appointment (one version) queues at most one message per channel and target;
the unique constraint on the outbox makes that a guarantee, not a convention.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, event, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import col

from booking.appointments.lifecycle import CREATED, TRANSITIONS, Action
from booking.appointments.lifecycle import PATIENT_EMAIL_FOR as PATIENT_EMAIL_FOR
from booking.appointments.lifecycle import WEBHOOK_EVENT_FOR as WEBHOOK_EVENT_FOR
from booking.appointments.models import Appointment, EventSource, appointments_table
from booking.config import Settings
from booking.notifications.models import (
    Channel,
    OutboxMessage,
    OutboxStatus,
    WebhookSource,
    outbox_messages,
)
from booking.security import sign

RECEIPT_CAP_WINDOW = dt.timedelta(hours=24)


def desk_email_for(action: str, source: EventSource) -> str | None:
    """The front desk hears of what it did not do itself: a new request, a patient's cancel."""
    if action == CREATED:
        return "new_request"
    if action == TRANSITIONS[Action.cancel].event and source == EventSource.patient:
        return "patient_cancelled"
    return None


def webhook_source(source: EventSource, *, by_staff: bool) -> WebhookSource:
    if source == EventSource.web:
        return WebhookSource.desk if by_staff else WebhookSource.patient
    return WebhookSource(source.value)  # api, patient and system are the same words


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


def recipient_hash(email: str, settings: Settings) -> str:
    """Keyed with the secret key (an unkeyed hash of a guessable address is the address)."""
    return sign(settings.secret_key, "receipt-cap", email.strip().lower())


def receipt_under_cap(cap: int) -> ColumnElement[bool]:
    """The condition a request-received email is queued under: its address got fewer than
    ``cap`` of them in the last 24 hours (BOOKING_RECEIPTS_PER_ADDRESS_PER_DAY), so that the
    public form cannot be used to mail a stranger over and over. One indexed count, stopped at
    the cap, evaluated in the statement that inserts the email (bind parameters ``cap_hash``
    and ``cap_since``, see ``receipt_cap_parameters``). Two requests for one address at the
    same instant may both pass: the cap is a bound on abuse, not an exact count."""
    table = outbox_messages
    recent = (
        select(literal_column("1"))
        .where(
            table.c.recipient_hash == bindparam("cap_hash", type_=table.c.recipient_hash.type),
            table.c.created_at > bindparam("cap_since", type_=table.c.created_at.type),
        )
        .limit(cap)
        .subquery()
    )
    return select(func.count()).select_from(recent).scalar_subquery() < cap


def receipt_cap_parameters(email: str, settings: Settings, now: dt.datetime) -> dict[str, Any]:
    return {
        "cap_hash": recipient_hash(email, settings),
        "cap_since": now - RECEIPT_CAP_WINDOW,
    }


def outbox_row(
    *,
    appointment_id: uuid.UUID,
    version: int,
    channel: Channel,
    event: str,
    payload: dict[str, Any],
    now: dt.datetime,
    target: str = "",
    recipient: str | None = None,
) -> dict[str, Any]:
    """One outbox row's column values."""
    return {
        "id": uuid.uuid4(),
        "channel": channel,
        "event": event,
        "target": target,
        "appointment_id": appointment_id,
        "appointment_version": version,
        "payload": payload,
        "status": OutboxStatus.pending,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "recipient_hash": recipient,
    }


def patient_payload(appointment: Mapping[str, Any], message: str | None) -> dict[str, Any]:
    """What a patient's email is built from: the visit, and whom to greet and write to."""
    return {
        **visit_fields(appointment),
        "first_name": appointment["first_name"],
        "email": appointment["email"],
        "calendar_sequence": appointment["calendar_sequence"],
        "message": message,
    }


def reminder_row(appointment: Mapping[str, Any], *, hours: int, now: dt.datetime) -> dict[str, Any]:
    """The reminder of a visit, ``hours`` before it. Its target names the hour and the visit's
    time, so that the outbox's one-message-per-change rule holds with several reminders (and
    with the confirmation) on one version of the appointment."""
    start_at: dt.datetime = appointment["start_at"]
    return outbox_row(
        appointment_id=appointment["id"],
        version=appointment["version"],
        channel=Channel.patient_email,
        event=REMINDER_EMAIL,
        payload=patient_payload(appointment, None),
        target=f"reminder/{hours}h/{start_at.astimezone(dt.UTC):%Y%m%dT%H%MZ}",
        now=now,
    )


REMINDER_EMAIL = "reminder"
DIGEST_EMAIL = "digest"
# The digest's outbox rows are about no appointment: each day's has an id of its own instead.
_DIGEST_NAMESPACE = uuid.UUID("6f1f4f52-5c0e-4d8e-9a55-0d1b2b0c7a11")


def digest_row(counts: Mapping[str, Any], *, day: dt.date, now: dt.datetime) -> dict[str, Any]:
    """The front desk's morning digest of ``day``: counts only, no patient, no reason."""
    return outbox_row(
        appointment_id=uuid.uuid5(_DIGEST_NAMESPACE, day.isoformat()),
        version=0,
        channel=Channel.desk_email,
        event=DIGEST_EMAIL,
        payload={"digest": {"day": day.isoformat(), **counts}},
        target=f"digest/{day.isoformat()}",
        now=now,
    )


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """What the notifications of one change depend on, besides the appointment: the change
    (its audit event's name), who made it, and what the patient's email adds."""

    action: str
    source: EventSource
    by_staff: bool = False
    message_to_patient: str | None = None
    email_fields: Mapping[str, Any] | None = None


def notification_rows(
    *,
    appointment: Mapping[str, Any],
    notice: ChangeNotice,
    settings: Settings,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The outbox rows one change of an appointment queues, as column values.

    ``appointment`` holds the appointment's column values after the change (a row mapping or
    ``appointment_values`` of a model). A request-received email carries ``recipient_hash``
    (the only rows that do): the per-address cap counts them.
    """
    rows: list[dict[str, Any]] = []
    action, source = notice.action, notice.source
    # Every row of the change: the appointment at the version the change left it, queued now.
    row = functools.partial(
        outbox_row, appointment_id=appointment["id"], version=appointment["version"], now=now
    )
    visit = visit_fields(appointment)
    if action in PATIENT_EMAIL_FOR:
        template = PATIENT_EMAIL_FOR[action]
        payload = {
            **patient_payload(appointment, notice.message_to_patient),
            **(notice.email_fields or {}),
        }
        recipient = (
            recipient_hash(appointment["email"], settings)
            if template == "request_received"
            else None
        )
        rows.append(
            row(channel=Channel.patient_email, event=template, payload=payload, recipient=recipient)
        )
    desk_email = desk_email_for(action, source)
    if desk_email is not None:
        # Urgency marks the desk's subject line; webhooks keep to ids, status and times.
        desk_payload = {**visit, "urgent": appointment["is_urgent"]}
        rows.append(row(channel=Channel.desk_email, event=desk_email, payload=desk_payload))
    for url in settings.webhook_urls:
        event = {
            "id": str(uuid.uuid4()),
            "type": WEBHOOK_EVENT_FOR[action],
            "created_at": now.isoformat(),
            "source": webhook_source(source, by_staff=notice.by_staff),
            "data": visit,
        }
        rows.append(
            row(channel=Channel.webhook, event=WEBHOOK_EVENT_FOR[action], payload=event, target=url)
        )
    return rows


# Marks a session whose transaction wrote outbox rows; only this module reads it.
_QUEUED = "booking.notifications.queued"


def note_queued(session: AsyncSession) -> None:
    """Outbox rows were written in this session's transaction: its commit wakes the relay."""
    session.info[_QUEUED] = True


def wake_on_commit(sessionmaker: async_sessionmaker[AsyncSession], wakeup: asyncio.Event) -> None:
    """Set ``wakeup`` (the in-process relay's) when a transaction that queued messages
    commits: it then delivers at once instead of at its next poll. A rolled-back transaction
    queued nothing. Heard for this sessionmaker's sessions only (db.create_sessionmaker)."""
    session_class = sessionmaker.kw["sync_session_class"]

    @event.listens_for(session_class, "after_commit")
    def _committed(session: Session) -> None:
        if session.info.pop(_QUEUED, False):
            wakeup.set()

    @event.listens_for(session_class, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(_QUEUED, None)


def appointment_values(appointment: Appointment) -> dict[str, Any]:
    return {column.name: getattr(appointment, column.name) for column in appointments_table.columns}


def queue_notifications(
    session: AsyncSession,
    *,
    appointment: Appointment,
    notice: ChangeNotice,
    settings: Settings,
    now: dt.datetime,
) -> None:
    rows = notification_rows(
        appointment=appointment_values(appointment), notice=notice, settings=settings, now=now
    )
    queue_rows(session, rows)


def queue_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Outbox rows into this transaction; its commit wakes the relay."""
    session.add_all([OutboxMessage(**row) for row in rows])
    note_queued(session)


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
