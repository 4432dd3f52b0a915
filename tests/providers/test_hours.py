"""Working hours per provider: a weekly template with breaks, time off, and the 409 they give."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.providers import service as providers
from booking.providers.models import DEFAULT_PROVIDER_ID
from booking.providers.schemas import TimeOffIn
from tests.helpers import assert_problem, chicago, create_request, error_fields

DAY = "2026-12-07"  # a Monday, inside the horizon of the frozen clock
HOURS = f"/api/v1/providers/{DEFAULT_PROVIDER_ID}/hours"
TIME_OFF = f"/api/v1/providers/{DEFAULT_PROVIDER_ID}/time-off"
WITH_A_LUNCH_BREAK = {
    "weekly": [
        {"weekday": "mon", "start": "08:00", "end": "12:00"},
        {"weekday": "mon", "start": "13:00", "end": "17:00"},
        {"weekday": "sat", "start": "09:00", "end": "13:00"},
    ]
}


async def confirm(
    client: httpx.AsyncClient, headers: dict[str, str], start: str, minutes: int = 30
) -> httpx.Response:
    appointment_id = await create_request(client)
    return await client.post(
        f"/api/v1/appointments/{appointment_id}/confirm",
        json={"start": start, "duration_minutes": minutes},
        headers=headers,
    )


def outside_working_hours(response: httpx.Response) -> str:
    problem = assert_problem(response, 409)
    assert problem["type"] == "/problems/outside-working-hours"
    return str(problem["detail"])


async def test_a_provider_without_a_template_works_the_practice_hours(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    response = await client.get(HOURS, headers=desk)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["uses_practice_hours"] is True
    assert body["weekly"] == [
        {"weekday": day, "start": "08:00", "end": "17:00"}
        for day in ("mon", "tue", "wed", "thu", "fri")
    ]
    assert body["time_off"] == []


async def test_an_admin_sets_hours_with_a_break_and_the_break_is_a_409(
    client: httpx.AsyncClient, admin: dict[str, str], desk: dict[str, str]
) -> None:
    response = await client.put(HOURS, json=WITH_A_LUNCH_BREAK, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["uses_practice_hours"] is False
    assert response.json()["weekly"] == WITH_A_LUNCH_BREAK["weekly"]
    assert (await client.get(HOURS, headers=desk)).json()["weekly"] == WITH_A_LUNCH_BREAK["weekly"]

    assert (await confirm(client, desk, chicago(DAY, "08:00"))).status_code == 200
    assert (await confirm(client, desk, chicago(DAY, "11:30"))).status_code == 200  # ends 12:00
    detail = outside_working_hours(await confirm(client, desk, chicago(DAY, "11:45")))
    assert "Monday 7 December 2026, 11:45-12:15" in detail
    assert "08:00-12:00, 13:00-17:00" in detail
    outside_working_hours(await confirm(client, desk, chicago(DAY, "12:15")))
    assert (await confirm(client, desk, chicago(DAY, "13:00"))).status_code == 200
    # Tuesday is not in this template any more; Saturday is, though the practice is closed then.
    outside_working_hours(await confirm(client, desk, chicago("2026-12-08", "09:00")))
    assert (await confirm(client, desk, chicago("2026-12-05", "09:00"))).status_code == 200


async def test_touching_ranges_make_one_period(
    client: httpx.AsyncClient, admin: dict[str, str], desk: dict[str, str]
) -> None:
    weekly = [
        {"weekday": "mon", "start": "08:00", "end": "12:00"},
        {"weekday": "mon", "start": "12:00", "end": "14:00"},
    ]
    assert (await client.put(HOURS, json={"weekly": weekly}, headers=admin)).status_code == 200
    assert (await confirm(client, desk, chicago(DAY, "11:45"))).status_code == 200


async def test_an_empty_template_returns_to_the_practice_hours(
    client: httpx.AsyncClient, admin: dict[str, str], desk: dict[str, str]
) -> None:
    await client.put(HOURS, json=WITH_A_LUNCH_BREAK, headers=admin)
    response = await client.put(HOURS, json={"weekly": []}, headers=admin)
    assert response.status_code == 200
    assert response.json()["uses_practice_hours"] is True
    assert (await confirm(client, desk, chicago(DAY, "12:15"))).status_code == 200


@pytest.mark.parametrize(
    ("weekly", "field"),
    [
        (
            [
                {"weekday": "mon", "start": "08:00", "end": "12:00"},
                {"weekday": "mon", "start": "11:00", "end": "17:00"},
            ],
            "weekly",
        ),
        ([{"weekday": "mon", "start": "12:00", "end": "08:00"}], "weekly.0"),
        ([{"weekday": "mon", "start": "08:00", "end": "08:00"}], "weekly.0"),
        ([{"weekday": "mon", "start": "8:00", "end": "12:00"}], "weekly.0.start"),
        ([{"weekday": "mon", "start": "08:00", "end": "24:00"}], "weekly.0.end"),
        ([{"weekday": "monday", "start": "08:00", "end": "12:00"}], "weekly.0.weekday"),
        ([{"weekday": "mon", "start": "08:00", "end": "12:00", "x": 1}], "weekly.0.x"),
    ],
    ids=["overlap", "backwards", "empty", "not HH:MM", "24:00", "weekday", "unknown field"],
)
async def test_bad_hours_are_a_422(
    client: httpx.AsyncClient, admin: dict[str, str], weekly: list[Any], field: str
) -> None:
    response = await client.put(HOURS, json={"weekly": weekly}, headers=admin)
    assert error_fields(response) == {field}
    assert (await client.get(HOURS, headers=admin)).json()["uses_practice_hours"] is True


async def test_only_an_admin_changes_hours_and_time_off(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    assert_problem(await client.put(HOURS, json=WITH_A_LUNCH_BREAK, headers=desk), 403)
    time_off = {"start": chicago(DAY, "08:00"), "end": chicago(DAY, "17:00")}
    assert_problem(await client.post(TIME_OFF, json=time_off, headers=desk), 403)
    assert_problem(await client.get(HOURS), 401)


async def test_an_unknown_provider_is_a_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    unknown = "/api/v1/providers/00000000-0000-4000-8000-0000000000ff"
    assert_problem(await client.get(f"{unknown}/hours", headers=admin), 404)
    assert_problem(await client.put(f"{unknown}/hours", json={"weekly": []}, headers=admin), 404)
    time_off = {"start": chicago(DAY, "08:00"), "end": chicago(DAY, "17:00")}
    assert_problem(await client.post(f"{unknown}/time-off", json=time_off, headers=admin), 404)


async def test_time_off_blocks_confirm_and_reschedule_until_removed(
    client: httpx.AsyncClient, admin: dict[str, str], desk: dict[str, str]
) -> None:
    booked = await create_request(client)
    response = await client.post(
        f"/api/v1/appointments/{booked}/confirm",
        json={"start": chicago(DAY, "09:00"), "duration_minutes": 30},
        headers=desk,
    )
    assert response.status_code == 200

    response = await client.post(
        TIME_OFF,
        json={"start": chicago(DAY, "12:00"), "end": chicago(DAY, "14:00"), "reason": "Training"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["start"] == "2026-12-07T12:00:00-06:00"
    assert created["reason"] == "Training"
    listed = (await client.get(HOURS, headers=desk)).json()["time_off"]
    assert listed == [created]

    detail = outside_working_hours(await confirm(client, desk, chicago(DAY, "13:45")))
    assert "time off" in detail
    outside_working_hours(await confirm(client, desk, chicago(DAY, "11:45")))  # ends 12:15
    moved = await client.post(
        f"/api/v1/appointments/{booked}/reschedule",
        json={"start": chicago(DAY, "12:30")},
        headers=desk,
    )
    outside_working_hours(moved)
    assert (await confirm(client, desk, chicago(DAY, "11:30"))).status_code == 200  # ends 12:00

    removed = await client.delete(f"{TIME_OFF}/{created['id']}", headers=admin)
    assert removed.status_code == 204
    assert_problem(await client.delete(f"{TIME_OFF}/{created['id']}", headers=admin), 404)
    assert (await confirm(client, desk, chicago(DAY, "13:45"))).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2026-12-07T08:00:00", "end": chicago(DAY, "17:00")}, "start"),
        ({"start": chicago(DAY, "17:00"), "end": chicago(DAY, "08:00")}, "body"),
        ({"start": chicago(DAY, "08:00")}, "end"),
        ({"start": chicago(DAY, "08:00"), "end": chicago(DAY, "17:00"), "reason": ""}, "reason"),
    ],
    ids=["naive", "backwards", "no end", "empty reason"],
)
async def test_bad_time_off_is_a_422(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    assert error_fields(await client.post(TIME_OFF, json=body, headers=admin)) == {field}


async def test_a_confirm_waits_for_a_change_of_hours_in_flight_and_then_reads_it(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    """Hours and time off are read under the provider's row lock: a confirm that arrives while
    an admin's time off is being written waits for it, and then refuses the time. (Without the
    lock, PostgreSQL would let it read the hours from before and book inside the time off.)"""
    appointment_id = await create_request(client)
    async with app.state.sessionmaker() as session, session.begin():
        await providers.add_time_off(
            session,
            provider_id=DEFAULT_PROVIDER_ID,
            request=TimeOffIn(
                start=dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC),  # 09:00 in Chicago
                end=dt.datetime(2026, 12, 7, 16, 0, tzinfo=dt.UTC),
            ),
            now=app.state.clock.now(),
        )
        confirming = asyncio.create_task(
            client.post(
                f"/api/v1/appointments/{appointment_id}/confirm",
                json={"start": chicago(DAY, "09:00"), "duration_minutes": 30},
                headers=desk,
            )
        )
        await asyncio.sleep(0.5)
        assert not confirming.done()
    outside_working_hours(await confirming)
