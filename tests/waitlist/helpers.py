"""A cancelled visit and the waitlisted patients its time may be offered to."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from booking.notifications.models import OutboxMessage
from booking.waitlist.links import offer_token
from booking.waitlist.models import Offer
from tests.factories import OPEN_DAY
from tests.helpers import chicago, confirm, create_request


async def waitlisted(client: httpx.AsyncClient, email: str, **changes: Any) -> str:
    """A request that asks for an earlier time, on OPEN_DAY morning unless told otherwise."""
    return await create_request(client, earlier_if_possible=True, patient__email=email, **changes)


async def cancelled_visit(
    client: httpx.AsyncClient, desk: dict[str, str], time: str = "09:00", day: str = OPEN_DAY
) -> str:
    """A visit confirmed at ``time`` on ``day`` and cancelled by the desk: its time is freed."""
    visit = await create_request(client, patient__email="leaving@example.com")
    confirmed = await confirm(client, desk, visit, start=chicago(day, time))
    assert confirmed.status_code == 200, confirmed.text
    cancelled = await client.post(
        f"/api/v1/appointments/{visit}/cancel", json={"reason": "Patient called"}, headers=desk
    )
    assert cancelled.status_code == 200, cancelled.text
    return visit


async def offers(app: FastAPI) -> list[Offer]:
    async with app.state.sessionmaker() as session:
        statement = select(Offer).order_by(Offer.created_at, Offer.round)  # type: ignore[arg-type]
        return list((await session.execute(statement)).scalars())


async def offer_for(app: FastAPI, appointment_id: str) -> Offer:
    found = [o for o in await offers(app) if str(o.appointment_id) == appointment_id]
    assert len(found) == 1, found
    return found[0]


async def token_for(app: FastAPI, appointment_id: str) -> str:
    offer = await offer_for(app, appointment_id)
    return offer_token(offer.id, app.state.settings)


async def outbox_events(app: FastAPI, appointment_id: str) -> list[OutboxMessage]:
    async with app.state.sessionmaker() as session:
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.appointment_id == uuid.UUID(appointment_id))  # type: ignore[arg-type]
            .order_by(OutboxMessage.appointment_version)  # type: ignore[arg-type]
        )
        return list((await session.execute(statement)).scalars())
