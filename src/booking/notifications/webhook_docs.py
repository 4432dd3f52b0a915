"""The webhooks integrators receive, declared in the OpenAPI document's ``webhooks`` section."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import FastAPI, Header
from pydantic import BaseModel, Field

from booking.appointments.models import AppointmentStatus
from booking.notifications.models import WebhookSource
from booking.notifications.service import WEBHOOK_EVENT_FOR


class WebhookVisit(BaseModel):
    appointment_id: uuid.UUID
    reference: str
    status: AppointmentStatus
    version: int
    provider_id: uuid.UUID | None
    start: dt.datetime | None
    end: dt.datetime | None


EventType = Literal[tuple(WEBHOOK_EVENT_FOR.values())]  # type: ignore[valid-type]


class WebhookEvent(BaseModel):
    """One change of one appointment. Ids, status and times only: no personal or health data."""

    id: uuid.UUID = Field(description="Unique per event; the same on every retry. Dedupe on it.")
    type: EventType  # type: ignore[valid-type]
    created_at: dt.datetime
    source: WebhookSource = Field(
        description="Who made the change: the patient (their link, the hosted form), the desk "
        "(its pages), an API client (the website's form, a staff token, an API key), or the "
        "system (scheduled jobs)."
    )
    data: WebhookVisit


def declare_webhooks(app: FastAPI) -> None:
    @app.webhooks.post(
        "appointment-changed",
        operation_id="appointmentChanged",
        summary="An appointment changed (sent to your endpoint)",
        responses={
            200: {"description": "Any 2xx acknowledges the delivery."},
            410: {"description": "Stop sending to this endpoint."},
            422: {"description": "Not used: answer 2xx, or any other status to be retried."},
        },
    )
    def appointment_changed(
        event: WebhookEvent,
        booking_signature: Annotated[
            str,
            Header(
                alias="Booking-Signature",
                description="`t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>' with "
                "the webhook secret>`, one `v1` per configured secret while one is rotated: "
                "accept when any matches yours. Refuse a t older than 5 minutes, and any "
                "malformed header.",
            ),
        ],
        booking_event_id: Annotated[str, Header(alias="Booking-Event-Id")],
        booking_event_type: Annotated[str, Header(alias="Booking-Event-Type")],
    ) -> None:
        """POSTed to every URL in BOOKING_WEBHOOK_URLS after each change, retried with backoff
        until the receiver answers 2xx (410 stops the retries). Deliveries can arrive more than
        once and out of order: dedupe on `id`, order by `data.version`."""
