from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict

from booking.values import ShortLine


class ProviderOut(BaseModel):
    id: uuid.UUID
    name: str
    is_active: bool
    created_at: dt.datetime


class ProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortLine
