"""Free times: on the slot grid, inside hours, outside time off and visits, never in the past,
right on the days the clocks change."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.main import create_app
from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.helpers import assert_problem, chicago, create_request, error_fields
from tests.settings import NOW, make_settings
from tests.staff.helpers import bearer

DAY = "2026-12-07"  # a Monday
HOURS = f"/api/v1/providers/{DEFAULT_PROVIDER_ID}/hours"


async def free(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    first: str = DAY,
    last: str = DAY,
    minutes: int = 30,
    **params: Any,
) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/availability",
        params={"from": first, "to": last, "duration_minutes": minutes, **params},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    slots: list[dict[str, Any]] = response.json()["slots"]
    return slots


def starts(slots: list[dict[str, Any]]) -> list[str]:
    return [slot["start"][11:16] for slot in slots]


def grid(first: str, last: str, step: int = 15) -> list[str]:
    at = dt.datetime.strptime(first, "%H:%M")
    end = dt.datetime.strptime(last, "%H:%M")
    found = []
    while at <= end:
        found.append(f"{at:%H:%M}")
        at += dt.timedelta(minutes=step)
    return found


async def book(
    client: httpx.AsyncClient, headers: dict[str, str], start: str, minutes: int = 30, **more: Any
) -> str:
    appointment_id = await create_request(client)
    response = await client.post(
        f"/api/v1/appointments/{appointment_id}/confirm",
        json={"start": start, "duration_minutes": minutes, **more},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return appointment_id


async def test_a_free_day_is_the_grid_of_the_opening_hours(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    slots = await free(client, desk)
    assert starts(slots) == grid("08:00", "16:30")  # a 30-minute visit ends by 17:00
    assert slots[0] == {
        "provider_id": str(DEFAULT_PROVIDER_ID),
        "start": "2026-12-07T08:00:00-06:00",
        "end": "2026-12-07T08:30:00-06:00",
    }
    assert await free(client, desk, "2026-12-05", "2026-12-06") == []  # the weekend
    assert await free(client, desk, "2026-12-25", "2026-12-25") == []  # a closed date


async def test_never_in_the_past(client: httpx.AsyncClient, desk: dict[str, str]) -> None:
    # The clock says 09:00 on Monday 30 November.
    assert starts(await free(client, desk, "2026-11-30", "2026-11-30")) == grid("09:15", "16:30")
    assert await free(client, desk, "2026-11-23", "2026-11-27") == []


async def test_confirmed_visits_block_their_time_and_cancelled_ones_do_not(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    await book(client, desk, chicago(DAY, "09:00"), minutes=45)  # 09:00-09:45
    cancelled = await book(client, desk, chicago(DAY, "14:00"))
    response = await client.post(
        f"/api/v1/appointments/{cancelled}/cancel", json={"reason": "x"}, headers=desk
    )
    assert response.status_code == 200
    found = starts(await free(client, desk))
    assert "08:30" in found  # ends 09:00, back to back
    assert not {"08:45", "09:00", "09:15", "09:30"} & set(found)
    assert "09:45" in found
    assert "14:00" in found


async def test_hours_with_a_break_and_time_off(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    weekly = [
        {"weekday": "mon", "start": "08:00", "end": "12:00"},
        {"weekday": "mon", "start": "13:00", "end": "15:00"},
    ]
    assert (await client.put(HOURS, json={"weekly": weekly}, headers=admin)).status_code == 200
    response = await client.post(
        f"/api/v1/providers/{DEFAULT_PROVIDER_ID}/time-off",
        json={"start": chicago(DAY, "09:00"), "end": chicago(DAY, "10:00")},
        headers=admin,
    )
    assert response.status_code == 201
    found = starts(await free(client, admin))
    assert found == [*grid("08:00", "08:30"), *grid("10:00", "11:30"), *grid("13:00", "14:30")]
    # Tuesday is not in the template.
    assert await free(client, admin, "2026-12-08", "2026-12-08") == []


async def test_the_grid_follows_the_slot_setting_and_the_length(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    assert starts(await free(client, desk, minutes=60))[-1] == "16:00"
    assert starts(await free(client, desk, minutes=480)) == grid("08:00", "09:00")


async def test_two_providers_are_free_independently(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post("/api/v1/providers", json={"name": "Dr Lee"}, headers=admin)
    other = response.json()["id"]
    # Both at 09:00: the providers' diaries do not overlap each other.
    await book(client, admin, chicago(DAY, "09:00"), provider_id=str(DEFAULT_PROVIDER_ID))
    await book(client, admin, chicago(DAY, "09:00"), provider_id=other)
    await book(client, admin, chicago(DAY, "10:00"), provider_id=other)

    everyone = await free(client, admin)
    at_ten = [slot["provider_id"] for slot in everyone if slot["start"][11:16] == "10:00"]
    assert at_ten == [str(DEFAULT_PROVIDER_ID)]
    at_eight = [slot["provider_id"] for slot in everyone if slot["start"][11:16] == "08:00"]
    assert at_eight == [str(DEFAULT_PROVIDER_ID), other]  # time order, then provider order
    theirs = starts(await free(client, admin, provider_id=other))
    assert "09:00" not in theirs
    assert "10:00" not in theirs
    assert "09:30" in theirs


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-12-01", "to": "2027-01-02", "duration_minutes": 30}, "to"),
        ({"from": "2026-12-08", "to": "2026-12-07", "duration_minutes": 30}, "to"),
        ({"from": "2026-12-07", "to": "2026-12-07", "duration_minutes": 0}, "duration_minutes"),
        ({"from": "2026-12-07", "to": "2026-12-07"}, "duration_minutes"),
        ({"from": "07/12/2026", "to": "2026-12-07", "duration_minutes": 30}, "from"),
        (
            {"from": DAY, "to": DAY, "duration_minutes": 30, "provider_id": "not-an-id"},
            "provider_id",
        ),
        (
            {
                "from": DAY,
                "to": DAY,
                "duration_minutes": 30,
                "provider_id": "00000000-0000-4000-8000-0000000000ff",
            },
            "provider_id",
        ),
    ],
    ids=["32 days", "backwards", "zero", "no duration", "not ISO", "bad id", "unknown provider"],
)
async def test_bad_ranges_are_a_422(
    client: httpx.AsyncClient, desk: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/v1/availability", params=params, headers=desk)
    assert error_fields(response) == {f"query.{field}"}


async def test_31_days_is_the_longest_range_and_staff_only(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    slots = await free(client, desk, "2026-12-01", "2027-01-01")
    assert slots[-1]["start"].startswith("2027-01-01T16:30")
    params = {"from": DAY, "to": DAY, "duration_minutes": 30}
    assert_problem(await client.get("/api/v1/availability", params=params), 401)


# --- the days the clocks change (America/Chicago) ----------------------------------------------


OpenEveryDay = Callable[[dt.datetime, str, str], Awaitable[dict[str, str]]]


@pytest.fixture
def open_every_day(
    client: httpx.AsyncClient, app: FastAPI, admin_account: Any, clock: FrozenClock
) -> OpenEveryDay:
    """open_every_day(at, start, end): with the clock moved to `at`, the admin opens every day
    of the week, Sundays too, from `start` to `end`; returns the admin's headers."""

    async def open_at(at: dt.datetime, start: str, end: str) -> dict[str, str]:
        clock.advance(at - NOW)
        admin = bearer(app, admin_account)
        weekly = [
            {"weekday": day, "start": start, "end": end}
            for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ]
        response = await client.put(HOURS, json={"weekly": weekly}, headers=admin)
        assert response.status_code == 200, response.text
        return admin

    return open_at


async def test_spring_forward_keeps_wall_clock_hours(
    client: httpx.AsyncClient, open_every_day: OpenEveryDay
) -> None:
    admin = await open_every_day(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "08:00", "17:00")
    slots = await free(client, admin, "2026-03-07", "2026-03-09")
    by_day: dict[str, list[str]] = {}
    for slot in slots:
        by_day.setdefault(slot["start"][:10], []).append(slot["start"][11:])
    assert by_day["2026-03-07"][0] == "08:00:00-06:00"  # CST
    assert by_day["2026-03-08"][0] == "08:00:00-05:00"  # CDT from 02:00 that night
    assert by_day["2026-03-08"][-1] == "16:30:00-05:00"
    assert by_day["2026-03-09"][0] == "08:00:00-05:00"
    assert all(len(found) == 35 for found in by_day.values())


async def test_hours_across_the_missing_hour_are_an_hour_shorter(
    client: httpx.AsyncClient, open_every_day: OpenEveryDay
) -> None:
    admin = await open_every_day(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "00:00", "04:00")
    slots = await free(client, admin, "2026-03-08", "2026-03-08", minutes=60)
    # 00:00 CST to 04:00 CDT is three hours: starts from 00:00 to 02:00 real time, every 15
    # minutes; the wall clock jumps from 01:59 to 03:00.
    assert [slot["start"][11:] for slot in slots] == [
        *(f"{time}:00-06:00" for time in grid("00:00", "01:45")),
        "03:00:00-05:00",
    ]
    assert slots[-1]["end"] == "2026-03-08T04:00:00-05:00"


async def test_fall_back_keeps_wall_clock_hours(
    client: httpx.AsyncClient, open_every_day: OpenEveryDay
) -> None:
    admin = await open_every_day(dt.datetime(2026, 10, 25, 12, tzinfo=dt.UTC), "08:00", "17:00")
    slots = await free(client, admin, "2026-10-31", "2026-11-02")
    firsts = {}
    for slot in slots:
        firsts.setdefault(slot["start"][:10], slot["start"][11:])
    assert firsts == {
        "2026-10-31": "08:00:00-05:00",  # CDT
        "2026-11-01": "08:00:00-06:00",  # CST from 02:00 that night
        "2026-11-02": "08:00:00-06:00",
    }
    assert len(slots) == 3 * 35


async def test_a_visit_on_the_day_the_clocks_change_is_checked_on_that_days_hours(
    client: httpx.AsyncClient, open_every_day: OpenEveryDay
) -> None:
    appointment_id = await create_request(client)  # while the clock still says November
    admin = await open_every_day(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "08:00", "17:00")
    url = f"/api/v1/appointments/{appointment_id}/confirm"
    # 07:30 CDT is 06:30 CST: outside, whichever offset one reads it with.
    early = await client.post(
        url, json={"start": "2026-03-08T07:30:00-05:00", "duration_minutes": 30}, headers=admin
    )
    assert assert_problem(early, 409)["type"] == "/problems/outside-working-hours"
    response = await client.post(
        url, json={"start": "2026-03-08T08:00:00-05:00", "duration_minutes": 30}, headers=admin
    )
    assert response.status_code == 200, response.text


# --- the buffer between visits -----------------------------------------------------------------


@pytest.fixture
async def buffered(database_url: str, clock: FrozenClock) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, visit_buffer_minutes=10, slot_minutes=5)
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


async def test_the_buffer_keeps_free_times_apart_from_visits(
    buffered: FastAPI, admin_account_in: Any
) -> None:
    transport = httpx.ASGITransport(app=buffered)
    async with httpx.AsyncClient(transport=transport, base_url="http://booking.test") as client:
        headers = bearer(buffered, admin_account_in)
        await book(client, headers, chicago(DAY, "10:00"))  # 10:00-10:30
        found = starts(await free(client, headers))
        assert found[0] == "08:00"
        assert found[1] == "08:05"  # the 5-minute grid
        assert "09:20" in found  # ends 09:50: ten minutes before
        assert "09:25" not in found
        assert "10:35" not in found
        assert "10:40" in found  # ten minutes after 10:30
        # The desk may still book back to back: the buffer shapes what is offered.
        await book(client, headers, chicago(DAY, "10:30"))


@pytest.fixture
async def admin_account_in(buffered: FastAPI, staff_password_hash: str) -> Any:
    from tests.staff.helpers import add_staff

    return await add_staff(
        buffered, staff_password_hash, email="admin@practice.example", role="admin"
    )


async def test_availability_reads_a_fixed_number_of_queries(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    """Not one query per slot or per day: a month costs what a day costs."""
    from sqlalchemy import event

    for hour in (9, 11, 14):
        await book(client, desk, chicago(DAY, f"{hour:02d}:00"))
    counted: list[str] = []

    def count(*args: Any) -> None:
        counted.append(str(args[2]))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await free(client, desk, DAY, DAY)
        one_day = len(counted)
        counted.clear()
        await free(client, desk, "2026-12-01", "2027-01-01")
        assert len(counted) == one_day
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert one_day <= 8
