"""Two server processes on one database, several patients accepting the same freed time
through both at once: exactly one gets it."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from booking.appointments import service as appointments
from booking.appointments.lifecycle import Action
from booking.appointments.models import Appointment, AppointmentStatus, EventSource
from booking.appointments.schemas import ConfirmRequest, ReasonRequest
from booking.config import resolve_secret_key
from booking.db import create_engine, create_sessionmaker
from booking.waitlist import service as waitlist
from booking.waitlist.links import offer_token
from booking.waitlist.models import Offer
from tests.factories import appointment_request
from tests.servers import booking_env, next_open_day, running_servers
from tests.settings import make_settings

assert waitlist.advance_offers  # imported for its hook on cancel: the time is offered


async def _free_a_time(database_url: str, visit: str, day: str) -> list[str]:
    """The desk confirms the visit and cancels it (in this process): returns the offers' tokens."""
    secret = booking_env(database_url).get("BOOKING_SECRET_KEY", "")
    settings = resolve_secret_key(make_settings(database_url, secret_key=secret))
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    desk = appointments.ActionContext(
        actor=appointments.Actor(source=EventSource.api),
        settings=settings,
        now=dt.datetime.now(dt.UTC),
    )
    try:
        async with sessionmaker() as session, session.begin():
            start = dt.datetime.fromisoformat(f"{day}T10:00:00-06:00")
            await appointments.perform(
                session, desk, Action.confirm, uuid.UUID(visit), ConfirmRequest(start=start)
            )
        async with sessionmaker() as session, session.begin():
            await appointments.perform(
                session, desk, Action.cancel, uuid.UUID(visit), ReasonRequest(reason="x")
            )
        async with sessionmaker() as session:
            offers = (await session.execute(select(Offer))).scalars().all()
            return [offer_token(offer.id, settings) for offer in offers]
    finally:
        await engine.dispose()


async def _confirmed(database_url: str, ids: list[str]) -> int:
    engine = create_engine(make_settings(database_url))
    try:
        async with engine.connect() as connection:
            statuses = (
                await connection.execute(
                    select(Appointment.status).where(  # type: ignore[call-overload]
                        Appointment.id.in_([uuid.UUID(i) for i in ids])  # type: ignore[attr-defined]
                    )
                )
            ).scalars()
            return sum(status == AppointmentStatus.confirmed for status in statuses)
    finally:
        await engine.dispose()


def test_patients_racing_through_two_processes_one_gets_the_time(
    database_url: str, tmp_path: Path
) -> None:
    day = next_open_day()
    windows = [{"date": day, "part_of_day": "any"}]

    async def scenario(urls: list[str]) -> tuple[list[httpx.Response], list[str]]:
        async with httpx.AsyncClient(timeout=60) as client:
            waiting = []
            for n in range(3):
                body = appointment_request(
                    preferred_windows=windows,
                    earlier_if_possible=True,
                    patient__email=f"racer{n}@example.com",
                )
                created = await client.post(f"{urls[0]}/api/v1/appointments", json=body)
                waiting.append(created.json()["id"])
            visit = await client.post(
                f"{urls[1]}/api/v1/appointments",
                json=appointment_request(preferred_windows=windows),
            )
            tokens = await _free_a_time(database_url, visit.json()["id"], day)
            assert len(tokens) == 3
            accepts = [
                client.post(f"{url}/api/v1/offers/{token}/accept")
                for token in tokens
                for url in urls
            ]
            return list(await asyncio.gather(*accepts)), waiting

    with running_servers(database_url, tmp_path, count=2) as urls:
        responses, waiting = asyncio.run(scenario(urls))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 5, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"].endswith("/offer-taken")
    assert asyncio.run(_confirmed(database_url, waiting)) == 1
