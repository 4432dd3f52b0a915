"""One row per Idempotency-Key: the claim while the first request runs, then its response."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, Table, Text
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime


class IdempotencyState(StrEnum):
    in_progress = "in_progress"
    completed = "completed"


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    # Who sent the key: "public" for anonymous callers, "staff:<id>" for signed-in staff.
    scope: str = Field(sa_type=String(64), primary_key=True)
    key: str = Field(sa_type=String(255), primary_key=True)
    request_fingerprint: str = Field(sa_type=String(64))
    state: str = Field(sa_type=String(16))
    response_status: int | None = None
    response_body: str | None = Field(default=None, sa_type=Text)
    response_headers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    locked_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)


# The Core table, for the set-based statements of the service (INSERT ... ON CONFLICT and friends).
idempotency_keys: Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
