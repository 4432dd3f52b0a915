"""The desk's sign-in session: a signed cookie (HMAC-SHA256), HttpOnly, SameSite=Lax, Secure
behind https, with an idle timeout, and the CSRF token every desk form carries.

The cookie holds the staff id, the account's token generation (so that deactivation or a
password reset ends the session), when it was last used, and the CSRF token.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass

from starlette.responses import Response

from booking.config import Settings
from booking.security import sign

COOKIE_NAME = "booking_desk"
IDLE_TIMEOUT = dt.timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class DeskSession:
    staff_id: uuid.UUID
    generation: int
    last_seen: dt.datetime
    csrf_token: str


PURPOSE = "booking desk sessions"


def encode_session(session: DeskSession, settings: Settings) -> str:
    data = json.dumps(
        {
            "s": str(session.staff_id),
            "g": session.generation,
            "t": int(session.last_seen.timestamp()),
            "c": session.csrf_token,
        },
        separators=(",", ":"),
    ).encode()
    payload = base64.urlsafe_b64encode(data).decode().rstrip("=")
    signature = sign(settings.secret_key, PURPOSE, payload)
    return f"{payload}.{signature}"


def decode_session(value: str | None, settings: Settings, now: dt.datetime) -> DeskSession | None:
    """The session in the cookie, or None when it is missing, forged or idle too long."""
    if not value or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    expected = sign(settings.secret_key, PURPOSE, payload)
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = DeskSession(
            staff_id=uuid.UUID(data["s"]),
            generation=int(data["g"]),
            last_seen=dt.datetime.fromtimestamp(int(data["t"]), dt.UTC),
            csrf_token=str(data["c"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if now - session.last_seen > IDLE_TIMEOUT:
        return None
    return session


def new_session(staff_id: uuid.UUID, generation: int, now: dt.datetime) -> DeskSession:
    return DeskSession(staff_id, generation, now, secrets.token_urlsafe(24))


def set_session_cookie(
    response: Response, session: DeskSession, settings: Settings, now: dt.datetime
) -> None:
    refreshed = DeskSession(session.staff_id, session.generation, now, session.csrf_token)
    response.set_cookie(
        COOKIE_NAME,
        encode_session(refreshed, settings),
        max_age=int(IDLE_TIMEOUT.total_seconds()),
        path="/desk",
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path="/desk",
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
    )


def csrf_matches(session: DeskSession, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf_token, submitted or "")
