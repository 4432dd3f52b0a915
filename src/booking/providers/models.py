from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, Index, String, Time
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime

# Created by the first migration, so that a practice with one provider needs no setup.
DEFAULT_PROVIDER_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


class Provider(SQLModel, table=True):
    __tablename__ = "providers"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(sa_type=String(100))
    is_active: bool = True
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class WorkingHours(SQLModel, table=True):
    """One range of a provider's weekly template (several per weekday: a break between them).

    A provider without any works the practice's opening hours on its open weekdays.
    """

    __tablename__ = "provider_working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_known"),
        CheckConstraint("end_time > start_time", name="time_range"),
        Index("ix_provider_working_hours_provider", "provider_id", "weekday", "start_time"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="providers.id", ondelete="CASCADE")
    weekday: int  # 0 = Monday, as datetime.date.weekday()
    start_time: dt.time = Field(sa_type=Time)
    end_time: dt.time = Field(sa_type=Time)


class TimeOff(SQLModel, table=True):
    """Dated time off of a provider (a holiday, leave, a training day)."""

    __tablename__ = "provider_time_off"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="time_range"),
        Index("ix_provider_time_off_provider", "provider_id", "end_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="providers.id", ondelete="CASCADE")
    start_at: dt.datetime = Field(sa_type=UTCDateTime)
    end_at: dt.datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, sa_type=String(200))
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
