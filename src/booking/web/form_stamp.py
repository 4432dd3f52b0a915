"""The hosted form's stamp: when the form was first shown, signed and bound to its idempotency key.

Bots post at once; people take a few seconds. The stamp is issued with the first page and carried
unchanged through every re-render, so the time counts from the first time the form was shown,
not from the last error page. It is bound to the form's idempotency key, which makes it single-use
for a stored request: the key replays the one stored response for the same request (a double
click) and refuses a different one. A stamp lives as long as the key's record
(BOOKING_IDEMPOTENCY_KEY_TTL_HOURS, 24 h by default): an older stamp could outlive the record that
makes it single-use.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

from booking.config import Settings
from booking.security import sign

_PURPOSE = "booking form"
_KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")


class StampVerdict(StrEnum):
    ok = "ok"
    too_fast = "too_fast"
    expired = "expired"
    invalid = "invalid"  # missing, forged, or not issued with this idempotency key


@dataclass(frozen=True, slots=True)
class FormStamp:
    shown_at: int  # whole seconds since the epoch
    idempotency_key: str

    def token(self, settings: Settings) -> str:
        return f"{self.shown_at}.{_signature(settings, self.shown_at, self.idempotency_key)}"


def max_age(settings: Settings) -> dt.timedelta:
    return dt.timedelta(hours=settings.idempotency_key_ttl_hours)


def issue_stamp(now: dt.datetime) -> FormStamp:
    return FormStamp(shown_at=int(now.timestamp()), idempotency_key=str(uuid.uuid4()))


def read_stamp(settings: Settings, *, token: str, idempotency_key: str) -> FormStamp | None:
    """The stamp the form carried, or None when it is missing, forged or belongs to another key."""
    shown_at, _, signature = token.partition(".")
    if not shown_at.isdigit() or not _KEY.match(idempotency_key):
        return None
    expected = _signature(settings, int(shown_at), idempotency_key)
    if not hmac.compare_digest(expected, signature):
        return None
    return FormStamp(shown_at=int(shown_at), idempotency_key=idempotency_key)


def judge(settings: Settings, stamp: FormStamp | None, now: dt.datetime) -> StampVerdict:
    if stamp is None:
        return StampVerdict.invalid
    age = now.timestamp() - stamp.shown_at
    if age > max_age(settings).total_seconds():
        return StampVerdict.expired
    if age < settings.form_min_fill_seconds:
        return StampVerdict.too_fast
    return StampVerdict.ok


def _signature(settings: Settings, shown_at: int, idempotency_key: str) -> str:
    return sign(settings.secret_key, _PURPOSE, f"{shown_at}.{idempotency_key}")[:32]
