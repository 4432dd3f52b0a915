"""The desk's session cookie: HttpOnly, SameSite=Lax, Secure behind https, scoped to /desk.

It holds only a random token; the session itself (whose, its CSRF token, when it ends) is a
server-side record (booking.staff.sessions), so sign-out, deactivation and a password reset end
it at once, and a copied cookie is worth nothing afterwards.
"""

from __future__ import annotations

import datetime as dt
import hmac

from starlette.responses import Response

from booking.config import Settings
from booking.staff.models import DeskSession

COOKIE_NAME = "booking_desk"


def set_session_cookie(
    response: Response, token: str, settings: Settings, lifetime: dt.timedelta
) -> None:
    """Set once at sign-in; the server enforces the idle timeout, the cookie the deadline."""
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/desk",
        httponly=True,
        samesite="lax",
        secure=settings.served_over_https,
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path="/desk",
        httponly=True,
        samesite="lax",
        secure=settings.served_over_https,
    )


def csrf_matches(session: DeskSession, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf_token, submitted or "")
