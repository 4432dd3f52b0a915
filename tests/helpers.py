from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from booking.appointments.models import Appointment


async def stored_appointments(app: FastAPI) -> list[Appointment]:
    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(Appointment))).scalars().all())


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"]
    return body


def error_fields(response: httpx.Response) -> set[str]:
    body = assert_problem(response, 422)
    return {error["field"] for error in body["errors"]}
