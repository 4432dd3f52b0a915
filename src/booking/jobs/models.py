"""What the scheduler's jobs have done, so that no job does it twice.

Each row is written in the transaction that queues its email: a crash before the commit leaves
neither, a second worker's insert of the same key finds the row and does nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Table
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime


class VisitReminder(SQLModel, table=True):
    """A reminder of one visit time, ``hours`` before it: sent, or skipped (the visit was
    booked inside that window, or a later reminder was due at the same time). A new time (a
    reschedule) has no rows yet: its reminders are armed again."""

    __tablename__ = "visit_reminders"

    appointment_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    hours: int = Field(primary_key=True)
    start_at: dt.datetime = Field(sa_type=UTCDateTime, primary_key=True)
    sent: bool
    recorded_at: dt.datetime = Field(sa_type=UTCDateTime)


class DeskDigest(SQLModel, table=True):
    """The front desk's morning digest of one practice-local day: one row, one email."""

    __tablename__ = "desk_digests"

    digest_date: dt.date = Field(primary_key=True)
    sent_at: dt.datetime = Field(sa_type=UTCDateTime)
    counts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


visit_reminders: Table = VisitReminder.__table__  # type: ignore[attr-defined]
desk_digests: Table = DeskDigest.__table__  # type: ignore[attr-defined]
