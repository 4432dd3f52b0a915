"""Staff accounts: the people at the front desk, and the admins who manage them."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import CheckConstraint, String
from sqlmodel import Field, SQLModel

from booking.db import UTCDateTime


class StaffRole(StrEnum):
    admin = "admin"
    front_desk = "front_desk"


class StaffAccount(SQLModel, table=True):
    __tablename__ = "staff_accounts"
    __table_args__ = (CheckConstraint("role IN ('admin', 'front_desk')", name="role_known"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(sa_type=String(254), unique=True, description="Stored lower-case.")
    display_name: str = Field(sa_type=String(100))
    role: str = Field(sa_type=String(16), default=StaffRole.front_desk)
    is_active: bool = True
    password_hash: str = Field(sa_type=String(255))
    # Bumped when the account is deactivated or its password reset: older tokens stop working.
    token_generation: int = 0
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
