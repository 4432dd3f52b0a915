from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime

# Created by the first migration, so that a practice with one provider needs no setup.
DEFAULT_PROVIDER_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


class Provider(SQLModel, table=True):
    __tablename__ = "providers"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(sa_type=String(100))
    is_active: bool = True
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
