from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from booking.config import Settings
from booking.waitlist.models import Offer, OfferStatus


class OfferView(BaseModel):
    """What an offer's link shows: the time offered, nothing about the patient or the visit's
    reason."""

    status: OfferStatus
    start: dt.datetime = Field(examples=["2026-12-07T09:30:00-06:00"])
    end: dt.datetime
    expires_at: dt.datetime = Field(description="The offer ends then (or when the time starts).")
    can_accept: bool
    timezone: str
    practice_name: str
    practice_phone: str

    @classmethod
    def of(
        cls, offer: Offer, settings: Settings, *, now: dt.datetime, applies: bool = True
    ) -> OfferView:
        """``applies``: the patient's appointment still takes the offer (service.applies)."""
        zone = settings.timezone
        status = OfferStatus(offer.status)
        if status == OfferStatus.open and not applies:
            status = OfferStatus.withdrawn
        elif status == OfferStatus.open and now >= min(offer.expires_at, offer.start_at):
            status = OfferStatus.expired
        open_now = status == OfferStatus.open
        return cls(
            status=status,
            start=offer.start_at.astimezone(zone),
            end=offer.end_at.astimezone(zone),
            expires_at=offer.expires_at.astimezone(zone),
            can_accept=open_now,
            timezone=settings.practice_timezone,
            practice_name=settings.practice_name,
            practice_phone=settings.practice_phone,
        )
