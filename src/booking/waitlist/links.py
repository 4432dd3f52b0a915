"""An offer's link: its token is derived from the offer's id with the secret key, so that the
relay can write the email; the database keeps only the token's SHA-256."""

from __future__ import annotations

import uuid

from booking.config import Settings
from booking.security import sign


def offer_token(offer_id: uuid.UUID | str, settings: Settings) -> str:
    """Unguessable without the secret key; no personal data in it."""
    return sign(settings.secret_key, "offer-link", str(offer_id))


def offer_url(offer_id: uuid.UUID | str, settings: Settings) -> str:
    return f"{settings.links_base_url}/offer/{offer_token(offer_id, settings)}"
