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


async def create_request(client: httpx.AsyncClient, **changes: Any) -> str:
    """POST a valid request (with changes) and return its id."""
    from tests.factories import appointment_request

    response = await client.post("/api/v1/appointments", json=appointment_request(**changes))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def confirm(
    client: httpx.AsyncClient, headers: dict[str, str], appointment_id: str, **body: Any
) -> httpx.Response:
    """The desk (``headers``) confirms a request; the visit starts at 09:00 on OPEN_DAY unless
    ``start`` says otherwise."""
    from tests.factories import OPEN_DAY

    body.setdefault("start", chicago(OPEN_DAY, "09:00"))
    return await client.post(
        f"/api/v1/appointments/{appointment_id}/confirm", json=body, headers=headers
    )


def chicago(day: str, time: str) -> str:
    """An ISO timestamp at this wall-clock time in the practice's zone (CST in winter)."""
    return f"{day}T{time}:00-06:00"


async def manage_token(app: FastAPI, appointment_id: str) -> str:
    """A fresh link token for the appointment, as a patient email carries one."""
    import uuid

    from booking.manage.service import mint_manage_token

    async with app.state.sessionmaker() as session, session.begin():
        return await mint_manage_token(
            session,
            appointment_id=uuid.UUID(appointment_id),
            now=app.state.clock.now(),
            days=30,
        )
