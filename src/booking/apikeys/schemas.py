from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from booking.apikeys.models import ApiScope
from booking.values import ShortLine


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortLine = Field(examples=["Practice EHR"])
    scopes: list[ApiScope] = Field(min_length=1, max_length=3, examples=[["fhir:read"]])


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    scopes: list[ApiScope]
    created_at: dt.datetime
    last_used_at: dt.datetime | None = Field(description="Written at most once a minute.")
    revoked_at: dt.datetime | None


class ApiKeyCreated(BaseModel):
    id: uuid.UUID
    name: str
    scopes: list[ApiScope]
    key: str = Field(
        description="Send as `Authorization: Bearer <key>`. Shown only in this response: "
        "store it now; it cannot be read again."
    )
    created_at: dt.datetime
