"""Offers: one freed visit time, offered to one waitlisted patient."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime


class OfferStatus(StrEnum):
    open = "open"  # sent, waiting for the patient
    accepted = "accepted"  # this patient took the time
    taken = "taken"  # another patient took it first
    withdrawn = "withdrawn"  # the time is gone otherwise (the desk booked it, the request ended)
    expired = "expired"  # not answered in time (BOOKING_OFFER_HOURS, or the time has come)


class Offer(SQLModel, table=True):
    """The time of a cancelled visit (``slot_appointment_id``), offered to the patient of
    ``appointment_id``. Only the link token's SHA-256 is stored; the token itself is derived
    from the offer's id with the secret key when the email is written (``service.offer_token``).
    A patient is offered one freed time at most once.
    """

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'accepted', 'taken', 'withdrawn', 'expired')", name="status_known"
        ),
        CheckConstraint("end_at > start_at", name="time_range"),
        UniqueConstraint("slot_appointment_id", "appointment_id", name="uq_offers_once_per_slot"),
        # advance_offers: the open offers that are due, oldest deadline first.
        Index("ix_offers_due", "status", "expires_at"),
        Index("ix_offers_slot", "slot_appointment_id", "status"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    appointment_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    slot_appointment_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False)
    )
    provider_id: uuid.UUID = Field(sa_column=Column(ForeignKey("providers.id"), nullable=False))
    start_at: dt.datetime = Field(sa_type=UTCDateTime)
    end_at: dt.datetime = Field(sa_type=UTCDateTime)
    round: int = Field(description="1 for the first few patients offered the time, then 2, ...")
    status: str = Field(default=OfferStatus.open, sa_type=String(10))
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


offers_table: Table = Offer.__table__  # type: ignore[attr-defined]
