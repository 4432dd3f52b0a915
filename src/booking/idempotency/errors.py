from __future__ import annotations

from types import MappingProxyType

from booking.errors import Conflict, FieldError, RequestInvalid


class IdempotencyKeyInUse(
    Conflict,
    slug="idempotency-key-in-use",
    title="A request with this Idempotency-Key is still being processed",
):
    headers = MappingProxyType({"Retry-After": "1"})


class IdempotencyKeyReused(
    RequestInvalid,
    slug="idempotency-key-reused",
    title="This Idempotency-Key was used for a different request",
):
    def __init__(self, detail: str) -> None:
        # A 422 always lists the fields at fault: here, the header.
        field = FieldError("header.Idempotency-Key", "was used with a different request")
        super().__init__([field], detail)
