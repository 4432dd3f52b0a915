"""The schedule: the visits of one to seven days in time order, for the desk's diary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.availability.helpers import book, book_visits_around_the_fall_back
from tests.helpers import assert_problem, chicago, create_request, error_fields
from tests.staff.helpers import bearer

MONDAY, TUESDAY = "2026-12-07", "2026-12-08"


async def schedule(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/schedule", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    visits: list[dict[str, Any]] = response.json()["visits"]
    return visits


async def test_the_day_lists_visits_in_time_order_with_what_the_diary_shows(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    # Booked out of order: 15:00 first, then 13:00 (the board once listed them that way).
    late = await book(
        client,
        desk,
        chicago(MONDAY, "15:00"),
        request={"reason_code": "sciatica", "urgent_symptoms": ["recent_trauma"]},
    )
    early = await book(client, desk, chicago(MONDAY, "13:00"))
    await book(client, desk, chicago(TUESDAY, "09:00"))
    await create_request(client)  # requested: no time, not in the diary

    visits = await schedule(client, desk, date=MONDAY)
    assert [visit["appointment_id"] for visit in visits] == [early, late]
    assert visits[1] == {
        "appointment_id": late,
        "reference": visits[1]["reference"],
        "provider_id": str(DEFAULT_PROVIDER_ID),
        "start": "2026-12-07T15:00:00-06:00",
        "end": "2026-12-07T15:45:00-06:00",
        "status": "confirmed",
        "first_name": "Ana",
        "last_name": "Ruiz",
        "reason_code": "sciatica",
        "is_urgent": True,
    }
    assert len(await schedule(client, desk, date=MONDAY, days=2)) == 3


async def test_cancelled_visits_leave_the_diary_and_held_ones_stay(
    client: httpx.AsyncClient, desk: dict[str, str], app: FastAPI, clock: FrozenClock
) -> None:
    cancelled = await book(client, desk, chicago(MONDAY, "09:00"))
    held = await book(client, desk, chicago(MONDAY, "10:00"))
    await client.post(
        f"/api/v1/appointments/{cancelled}/cancel", json={"reason": "x"}, headers=desk
    )
    clock.advance(dt.datetime(2026, 12, 7, 17, tzinfo=dt.UTC) - clock.now())
    done = await client.post(f"/api/v1/appointments/{held}/complete", headers=desk)
    assert done.status_code == 200, done.text
    visits = await schedule(client, desk, date=MONDAY)
    assert [(visit["appointment_id"], visit["status"]) for visit in visits] == [(held, "completed")]


async def test_one_providers_diary(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    response = await client.post("/api/v1/providers", json={"name": "Dr Lee"}, headers=admin)
    other = response.json()["id"]
    await book(client, admin, chicago(MONDAY, "09:00"), provider_id=str(DEFAULT_PROVIDER_ID))
    theirs = await book(client, admin, chicago(MONDAY, "09:00"), provider_id=other)
    assert len(await schedule(client, admin, date=MONDAY)) == 2
    visits = await schedule(client, admin, date=MONDAY, provider_id=other)
    assert [visit["appointment_id"] for visit in visits] == [theirs]


async def test_the_day_is_the_practice_day_also_when_the_clocks_change(
    client: httpx.AsyncClient, app: FastAPI, admin_account: Any, clock: FrozenClock
) -> None:
    """Sunday 1 November 2026 is 25 hours long in Chicago: from 05:00 UTC to 06:00 UTC the
    next day. Its first and last visits are in it, and only in it."""
    starts = await book_visits_around_the_fall_back(client, app, admin_account, clock)
    admin = bearer(app, admin_account)

    sunday = await schedule(client, admin, date="2026-11-01")
    assert [visit["start"] for visit in sunday] == starts[:2]
    monday = await schedule(client, admin, date="2026-11-02")
    assert [visit["start"] for visit in monday] == starts[2:]
    saturday = await schedule(client, admin, date="2026-10-31", days=3)
    assert [visit["start"] for visit in saturday] == starts


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date": MONDAY, "days": 8}, "days"),
        ({"date": MONDAY, "days": 0}, "days"),
        ({}, "date"),
        ({"date": "7 Dec"}, "date"),
        ({"date": MONDAY, "provider_id": "x"}, "provider_id"),
    ],
    ids=["8 days", "0 days", "no date", "not ISO", "bad provider"],
)
async def test_bad_schedule_queries_are_a_422(
    client: httpx.AsyncClient, desk: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/v1/schedule", params=params, headers=desk)
    assert error_fields(response) == {f"query.{field}"}


async def test_the_schedule_is_for_staff(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/schedule", params={"date": MONDAY}), 401)
