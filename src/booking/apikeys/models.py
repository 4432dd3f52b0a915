"""An API key: a name, its scopes, and the SHA-256 of the secret (the key itself is shown once
and never stored)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime


class ApiScope(StrEnum):
    appointments_read = "appointments:read"
    appointments_write = "appointments:write"
    fhir_read = "fhir:read"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(sa_type=String(100))
    scopes: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    # A key is 32 random bytes: its plain SHA-256 is as good as a slow hash, and a lookup.
    secret_hash: str = Field(sa_type=String(64), unique=True)
    created_by: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("staff_accounts.id"), nullable=True)
    )
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    last_used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
