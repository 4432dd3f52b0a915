"""Short-lived signed bearer tokens for staff (JWT, HS256 pinned, issuer and audience checked).

Expiry is checked against the service's clock rather than PyJWT's, so tests can move time.
The signing key is derived from BOOKING_SECRET_KEY for this one purpose.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass

import jwt

from booking.security import purpose_key
from booking.staff.errors import InvalidToken

ALGORITHM = "HS256"
ISSUER = "booking"
AUDIENCE = "booking-staff"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    staff_id: uuid.UUID
    generation: int


def signing_key(secret_key: str) -> bytes:
    return purpose_key(secret_key, "booking staff access tokens")


def issue_access_token(
    *,
    staff_id: uuid.UUID,
    generation: int,
    secret_key: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(staff_id),
        "gen": generation,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, signing_key(secret_key), algorithm=ALGORITHM)


def read_access_token(token: str, *, secret_key: str, now: dt.datetime) -> TokenClaims:
    claims, expires_at = _verified(token, secret_key)
    if expires_at <= now.timestamp():
        raise InvalidToken("The token has expired; sign in again.")
    return claims


@functools.lru_cache(maxsize=1024)
def _verified(token: str, secret_key: str) -> tuple[TokenClaims, int]:
    """The claims of a token whose signature, issuer and audience are good, and its expiry.

    Remembered per token: a desk sends the same token with every request, and checking it
    costs more than the rest of the staff check. Only this pure check is remembered (a bad
    token raises, and nothing is kept); expiry, the account and its token generation are
    still checked on every request.
    """
    try:
        claims = jwt.decode(
            token,
            signing_key(secret_key),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": ["iss", "aud", "sub", "iat", "exp", "gen"],
                # Times are checked against our clock, not PyJWT's.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        expires_at = int(claims["exp"])
        staff_id = uuid.UUID(str(claims["sub"]))
        generation = int(claims["gen"])
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidToken("Sign in again to get a new token.") from None
    return TokenClaims(staff_id=staff_id, generation=generation), expires_at
