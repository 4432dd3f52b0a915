"""Staff accounts: the people at the front desk, and the admins who manage them."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Text
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


class DeskSession(SQLModel, table=True):
    """A signed-in desk browser. The cookie holds a random token; only its SHA-256 is stored,
    so a copy of this table opens nothing. Deleting the row ends the session at once."""

    __tablename__ = "desk_sessions"

    id: str = Field(sa_type=String(64), primary_key=True, description="SHA-256 of the token.")
    staff_id: uuid.UUID = Field(
        sa_column=Column(
            ForeignKey("staff_accounts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    csrf_token: str = Field(sa_type=String(64))
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    # Refreshed at most once a minute (see staff.sessions.TOUCH_EVERY), not on every request.
    last_seen_at: dt.datetime = Field(sa_type=UTCDateTime)
    # The absolute deadline: BOOKING_DESK_SESSION_HOURS after sign-in, however busy.
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    # The desk board's filter (JSON), kept here rather than in a URL or a cookie: a search is
    # a patient's name. It ends with the session (see booking.web.desk).
    board_filter: str | None = Field(default=None, sa_type=Text)
