from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class ProviderOut(BaseModel):
    id: uuid.UUID
    name: str
    is_active: bool
    created_at: dt.datetime


class ProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
