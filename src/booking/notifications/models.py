"""Outbox rows (written in the transaction of the change that causes them) and manage tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime


class Channel(StrEnum):
    patient_email = "patient_email"
    desk_email = "desk_email"
    webhook = "webhook"


class WebhookSource(StrEnum):
    """Who made a change, as a webhook tells it (the audit trail's ``web`` is the desk's pages or
    the hosted form, told apart by whether staff signed in)."""

    patient = "patient"
    desk = "desk"
    api = "api"
    system = "system"


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    dead = "dead"


class OutboxMessage(SQLModel, table=True):
    """One message to deliver: an email or one webhook delivery.

    ``(appointment_id, appointment_version, channel, target)`` is unique: a change of an
    appointment can never queue the same message twice.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'dead')", name="status_known"),
        UniqueConstraint(
            "appointment_id",
            "appointment_version",
            "channel",
            "target",
            name="uq_outbox_messages_once_per_change",
        ),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        # The per-address cap on request-received emails counts recent rows by this.
        Index("ix_outbox_messages_recipient_recent", "recipient_hash", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    channel: str = Field(sa_type=String(20))
    # The email template or the webhook event type, e.g. "confirmed".
    event: str = Field(sa_type=String(40))
    # A webhook's URL, or "" for emails (whose address is in the payload).
    target: str = Field(default="", sa_type=String(500))
    appointment_id: uuid.UUID
    appointment_version: int
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.pending, sa_type=String(10))
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_type=UTCDateTime)
    locked_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, sa_type=String(64))
    # The kind of the last failure (an SMTP code, an HTTP status): never a message text.
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    # Request-received emails only: a keyed hash of the lower-cased address (never the address),
    # so that the daily cap per address is one indexed count.
    recipient_hash: str | None = Field(default=None, sa_type=String(64))
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


outbox_messages: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
