"""Set-ups shared by the availability tests and the desk's pages that show the same data:
visits booked through the API, a second provider, the requests the suggestions are asked for."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.helpers import create_request
from tests.staff.helpers import bearer

MONDAY, WEDNESDAY = "2026-12-07", "2026-12-09"

# The visits of the Sunday the clocks go back in Chicago (1 November 2026, 25 hours long)
# and of the Monday after it: the first two on that Sunday, the last on Monday at midnight.
FALL_BACK_STARTS = [
    "2026-11-01T00:30:00-05:00",
    "2026-11-01T23:00:00-06:00",
    "2026-11-02T00:00:00-06:00",
]


async def book(client: httpx.AsyncClient, headers: dict[str, str], start: str, **more: Any) -> str:
    """A new request confirmed at `start` (and `more` of the confirm body); its id."""
    appointment_id = await create_request(client, **more.pop("request", {}))
    response = await client.post(
        f"/api/v1/appointments/{appointment_id}/confirm",
        json={"start": start, **more},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return appointment_id


async def add_provider(
    client: httpx.AsyncClient, admin: dict[str, str], name: str = "Dr Second"
) -> str:
    """A provider added by the admin (with these headers); its id."""
    added = await client.post("/api/v1/providers", json={"name": name}, headers=admin)
    assert added.status_code == 201, added.text
    provider_id: str = added.json()["id"]
    return provider_id


async def book_visits_around_the_fall_back(
    client: httpx.AsyncClient, app: FastAPI, admin_account: Any, clock: FrozenClock
) -> list[str]:
    """With the clock at 25 October 2026 and the default provider working all day on
    Saturday, Sunday and Monday, three visits confirmed at FALL_BACK_STARTS; those starts.
    The requests are made first, while the clock still says November 30."""
    ids = [await create_request(client) for _ in range(len(FALL_BACK_STARTS))]
    clock.advance(dt.datetime(2026, 10, 25, 12, tzinfo=dt.UTC) - clock.now())
    admin = bearer(app, admin_account)
    weekly = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in ("sat", "sun", "mon")]
    hours = f"/api/v1/providers/{DEFAULT_PROVIDER_ID}/hours"
    assert (await client.put(hours, json={"weekly": weekly}, headers=admin)).status_code == 200
    for appointment_id, start in zip(ids, FALL_BACK_STARTS, strict=True):
        response = await client.post(
            f"/api/v1/appointments/{appointment_id}/confirm",
            json={"start": start, "duration_minutes": 30},
            headers=admin,
        )
        assert response.status_code == 200, response.text
    return list(FALL_BACK_STARTS)


async def request_monday_afternoon_or_wednesday_morning(client: httpx.AsyncClient) -> str:
    """A 45-minute request (sciatica) preferring Monday afternoon, then Wednesday morning."""
    return await create_request(
        client,
        reason_code="sciatica",  # 45 minutes
        preferred_windows=[
            {"date": MONDAY, "part_of_day": "afternoon"},
            {"date": WEDNESDAY, "part_of_day": "morning"},
        ],
    )
