"""The ceiling: a bare FastAPI endpoint taking the same JSON body, touching no database."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import FastAPI
from pydantic import BaseModel


class Patient(BaseModel):
    first_name: str
    last_name: str
    email: str
    phone: str
    date_of_birth: dt.date | None = None
    is_new_patient: bool


class Window(BaseModel):
    date: dt.date
    part_of_day: str = "any"


class Request(BaseModel):
    patient: Patient
    reason_code: str
    reason_detail: str | None = None
    preferred_windows: list[Window]
    contact_preference: str
    urgent_symptoms: list[str] = []
    consent: bool


app = FastAPI()


@app.post("/api/v1/appointments", status_code=201)
async def create(body: Request) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "reference": "BARE-0000", "status": "requested"}
