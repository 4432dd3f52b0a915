"""No two confirmed visits of one provider overlap, whatever the clerks do at the same time."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlmodel import col

from booking.appointments.models import Appointment
from booking.db import create_engine
from tests.factories import appointment_request
from tests.helpers import chicago, create_request
from tests.servers import booking_env, next_open_day, running_servers
from tests.settings import make_settings
from tests.staff.helpers import create_staff_with_cli

DAY = "2026-12-07"


def overlapping_pairs(rows: list[tuple[Any, dt.datetime, dt.datetime]]) -> list[Any]:
    return [
        (a[0], b[0])
        for a, b in itertools.combinations(rows, 2)
        if a[0] == b[0] and a[1] < b[2] and b[1] < a[2]
    ]


async def confirmed_visits(database_url: str) -> list[tuple[Any, dt.datetime, dt.datetime]]:
    engine = create_engine(make_settings(database_url))
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                select(Appointment.provider_id, Appointment.start_at, Appointment.end_at).where(
                    col(Appointment.status) == "confirmed"
                )
            )
            return [(row[0], row[1], row[2]) for row in result]
    finally:
        await engine.dispose()


async def test_fifty_clerks_confirming_fifty_requests_at_overlapping_times(
    client: httpx.AsyncClient, desk: dict[str, str], database_url: str
) -> None:
    ids = [await create_request(client) for _ in range(50)]
    # Every start lies within 30 minutes of every other: each pair overlaps.
    starts = [chicago(DAY, f"10:{minute:02d}") for minute in range(0, 25)] * 2

    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/appointments/{appointment_id}/confirm",
                json={"start": start},
                headers=desk,
            )
            for appointment_id, start in zip(ids, starts, strict=True)
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 49, statuses
    assert all(
        r.json()["type"] == "/problems/slot-taken" for r in responses if r.status_code == 409
    )
    visits = await confirmed_visits(database_url)
    assert len(visits) == 1
    assert overlapping_pairs(visits) == []


async def test_fifty_clerks_confirming_the_same_request(
    client: httpx.AsyncClient, desk: dict[str, str], database_url: str
) -> None:
    appointment_id = await create_request(client)

    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/appointments/{appointment_id}/confirm",
                json={"start": chicago(DAY, f"{9 + index % 7:02d}:00")},
                headers=desk,
            )
            for index in range(50)
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 49, statuses
    events = await client.get(f"/api/v1/appointments/{appointment_id}/events", headers=desk)
    assert [event["action"] for event in events.json()] == ["created", "confirmed"]


async def test_concurrent_confirms_of_adjacent_slots_all_succeed(
    client: httpx.AsyncClient, desk: dict[str, str], database_url: str
) -> None:
    """Back-to-back visits do not clash, even when booked at the same moment."""
    ids = [await create_request(client) for _ in range(16)]
    starts = [
        (dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=30 * i))
        for i in range(16)
    ]
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/appointments/{appointment_id}/confirm",
                json={"start": start.isoformat()},
                headers=desk,
            )
            for appointment_id, start in zip(ids, starts, strict=True)
        )
    )
    assert [r.status_code for r in responses] == [200] * 16
    assert overlapping_pairs(await confirmed_visits(database_url)) == []


# --- several server processes ----------------------------------------------------------------


def test_clerks_spread_over_two_server_processes_never_double_book(
    database_url: str, tmp_path: Path
) -> None:
    clerk = create_staff_with_cli(booking_env(database_url), tmp_path, "clerk@practice.example")

    day = next_open_day()
    body = appointment_request(preferred_windows=[{"date": day, "part_of_day": "any"}])
    start = f"{day}T11:00:00" + _chicago_offset(day)

    async def run(
        urls: list[str], headers: dict[str, str]
    ) -> tuple[list[httpx.Response], list[httpx.Response]]:
        async with httpx.AsyncClient(timeout=60) as http:
            ids = []
            for index in range(50):
                response = await http.post(urls[index % 2] + "/api/v1/appointments", json=body)
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            different = await asyncio.gather(
                *(
                    http.post(
                        f"{urls[index % 2]}/api/v1/appointments/{appointment_id}/confirm",
                        json={"start": start},
                        headers=headers,
                    )
                    for index, appointment_id in enumerate(ids)
                )
            )
            same_id = (await http.post(urls[0] + "/api/v1/appointments", json=body)).json()["id"]
            same = await asyncio.gather(
                *(
                    http.post(
                        f"{urls[index % 2]}/api/v1/appointments/{same_id}/confirm",
                        json={"start": f"{day}T14:00:00" + _chicago_offset(day)},
                        headers=headers,
                    )
                    for index in range(50)
                )
            )
            return different, same

    with running_servers(database_url, tmp_path, count=2) as urls:
        headers = {"Authorization": f"Bearer {clerk.access_token(urls[0])}"}
        different, same = asyncio.run(run(urls, headers))

    assert sorted(r.status_code for r in different) == [200] + [409] * 49
    assert sorted(r.status_code for r in same) == [200] + [409] * 49
    visits = asyncio.run(confirmed_visits(database_url))
    assert len(visits) == 2
    assert overlapping_pairs(visits) == []


def _chicago_offset(day: str) -> str:
    local = dt.datetime.combine(
        dt.date.fromisoformat(day), dt.time(12), ZoneInfo("America/Chicago")
    )
    offset = local.utcoffset()
    assert offset is not None
    hours = int(offset.total_seconds() // 3600)
    return f"{hours:+03d}:00"
