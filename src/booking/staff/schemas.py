from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from booking.staff.models import StaffRole
from booking.values import EmailAddress, ShortLine


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the token stops working.", examples=[1800])


class StaffOut(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str
    role: StaffRole
    is_active: bool
    created_at: dt.datetime


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailAddress
    display_name: ShortLine
    role: StaffRole = StaffRole.front_desk
    password: Annotated[str, StringConstraints(min_length=12, max_length=256)]


class SessionsEnded(BaseModel):
    ended: int = Field(description="How many desk sessions were ended.", examples=[2])
