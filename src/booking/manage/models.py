from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime


class ManageToken(SQLModel, table=True):
    """A patient's link to one appointment. Only the token's SHA-256 is stored."""

    __tablename__ = "manage_tokens"

    token_hash: str = Field(sa_type=String(64), primary_key=True)
    appointment_id: uuid.UUID = Field(index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
