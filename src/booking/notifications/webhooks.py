"""Signed webhook deliveries.

Every delivery carries ``Booking-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]``: one
``v1``, HMAC-SHA256 over ``"<t>.<body>"``, per secret in BOOKING_WEBHOOK_SECRET (a
comma-separated list while a secret is being rotated: the receiver switches to the new one at
its own pace, and the old one is dropped afterwards). A receiver recomputes the HMAC with its
secret over the raw body, accepts when any ``v1`` matches (compared in constant time), and
refuses a ``t`` older than a few minutes, so that a captured delivery cannot be replayed later.
Anything malformed in the header is a refusal. ``verify_signature`` is the reference
implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from typing import Any

import httpx

from booking.notifications.notifiers import PermanentDeliveryError

SIGNATURE_HEADER = "Booking-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def _hmac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """The signature header: one ``v1`` per secret, in the order they are configured."""
    return ",".join([f"t={timestamp}", *(f"v1={_hmac(s, timestamp, body)}" for s in secrets)])


_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_DIGITS = re.compile(r"[0-9]{1,12}")


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True only for a well-formed header, signed with ``secret``, recent enough."""
    timestamps, signatures = [], []
    for item in header.split(","):
        name, _, value = item.partition("=")
        if name == "t" and _DIGITS.fullmatch(value):
            timestamps.append(int(value))
        elif name == "v1" and _HEX_SHA256.fullmatch(value):
            signatures.append(value)
        else:
            return False  # anything else is not a header we sent
    if len(timestamps) != 1 or not signatures:
        return False
    if abs(now - timestamps[0]) > tolerance_seconds:
        return False
    expected = _hmac(secret, timestamps[0], body)
    # Every candidate is compared (no early exit) so that timing says nothing of which matched.
    matches = [hmac.compare_digest(expected, signature) for signature in signatures]
    return any(matches)


def encode_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


async def deliver_webhook(
    client: httpx.AsyncClient,
    *,
    url: str,
    event: dict[str, Any],
    secrets: Sequence[str],
    now: float,
) -> None:
    body = encode_event(event)
    response = await client.post(
        url,
        content=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secrets, int(now), body),
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
