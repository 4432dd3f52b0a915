"""Signed webhook deliveries.

Every delivery carries ``Booking-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256 over ``"<t>.<body>"`` with BOOKING_WEBHOOK_SECRET. A receiver recomputes it over the
raw body, compares in constant time, and refuses a ``t`` older than a few minutes, so that a
captured delivery cannot be replayed later. ``verify_signature`` is the reference implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from booking.notifications.notifiers import PermanentDeliveryError

SIGNATURE_HEADER = "Booking-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        received = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, received)


def encode_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


async def deliver_webhook(
    client: httpx.AsyncClient, *, url: str, event: dict[str, Any], secret: str, now: float
) -> None:
    body = encode_event(event)
    response = await client.post(
        url,
        content=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, int(now), body),
            "Booking-Event-Id": str(event["id"]),
            "Booking-Event-Type": str(event["type"]),
        },
    )
    if response.status_code == 410:  # the receiver says it is gone for good
        raise PermanentDeliveryError("HTTP 410")
    if not response.is_success:
        raise WebhookRejected(response.status_code)


class WebhookRejected(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
