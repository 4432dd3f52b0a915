"""Suggestions for a request: free times inside the patient's preferred windows, spread over
them; the first free times after them when none has room; and the race for one of them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.availability.helpers import request_monday_afternoon_or_wednesday_morning
from tests.helpers import assert_problem, chicago, create_request

MONDAY, TUESDAY, WEDNESDAY = "2026-12-07", "2026-12-08", "2026-12-09"
HOURS = f"/api/v1/providers/{DEFAULT_PROVIDER_ID}/hours"
TIME_OFF = f"/api/v1/providers/{DEFAULT_PROVIDER_ID}/time-off"


async def suggest(
    client: httpx.AsyncClient, headers: dict[str, str], appointment_id: str, limit: int = 5
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/appointments/{appointment_id}/suggestions",
        params={"limit": limit},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    slots: list[dict[str, Any]] = response.json()["slots"]
    return slots


def pairs(slots: list[dict[str, Any]]) -> list[tuple[str, str, int | None]]:
    """(day, HH:MM, window_index) of each slot."""
    return [(s["start"][:10], s["start"][11:16], s["window_index"]) for s in slots]


async def confirm(
    client: httpx.AsyncClient, headers: dict[str, str], appointment_id: str, start: str, **more: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/appointments/{appointment_id}/confirm",
        json={"start": start, **more},
        headers=headers,
    )


async def test_suggestions_lie_in_the_windows_earliest_first_and_spread_over_them(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await request_monday_afternoon_or_wednesday_morning(client)
    slots = await suggest(client, desk, appointment_id, limit=4)
    assert pairs(slots) == [
        (MONDAY, "12:00", 0),
        (MONDAY, "12:15", 0),
        (WEDNESDAY, "08:00", 1),
        (WEDNESDAY, "08:15", 1),
    ]
    assert slots[0]["end"] == f"{MONDAY}T12:45:00-06:00"
    assert slots[0]["provider_id"] == str(DEFAULT_PROVIDER_ID)
    # Morning means the visit starts before noon (it may end after).
    morning = await create_request(
        client, preferred_windows=[{"date": WEDNESDAY, "part_of_day": "morning"}]
    )
    await confirm(client, desk, morning, chicago(WEDNESDAY, "08:00"), duration_minutes=225)
    assert pairs(await suggest(client, desk, appointment_id, limit=3)) == [
        (MONDAY, "12:00", 0),
        (MONDAY, "12:15", 0),
        (WEDNESDAY, "11:45", 1),
    ]


async def test_booked_times_and_time_off_are_not_suggested(
    client: httpx.AsyncClient, desk: dict[str, str], admin: dict[str, str]
) -> None:
    first = await create_request(client)
    await confirm(client, desk, first, chicago(MONDAY, "08:00"))  # 08:00-08:30
    await client.post(
        TIME_OFF,
        json={"start": chicago(MONDAY, "08:30"), "end": chicago(MONDAY, "10:00")},
        headers=admin,
    )
    second = await create_request(client)  # Monday morning, back pain: 30 minutes
    assert pairs(await suggest(client, desk, second, limit=2)) == [
        (MONDAY, "10:00", 0),
        (MONDAY, "10:15", 0),
    ]


async def test_when_no_window_has_room_the_next_free_times_are_marked(
    client: httpx.AsyncClient, admin: dict[str, str], desk: dict[str, str]
) -> None:
    response = await client.post(
        TIME_OFF,
        json={"start": chicago(MONDAY, "00:00"), "end": chicago(TUESDAY, "12:00")},
        headers=admin,
    )
    assert response.status_code == 201
    appointment_id = await create_request(
        client, preferred_windows=[{"date": MONDAY, "part_of_day": "any"}]
    )
    slots = await suggest(client, desk, appointment_id, limit=3)
    assert pairs(slots) == [
        (TUESDAY, "12:00", None),
        (TUESDAY, "12:15", None),
        (TUESDAY, "12:30", None),
    ]


async def test_two_providers_give_different_times_not_the_same_time_twice(
    client: httpx.AsyncClient, admin: dict[str, str], desk: dict[str, str]
) -> None:
    response = await client.post("/api/v1/providers", json={"name": "Dr Lee"}, headers=admin)
    other = response.json()["id"]
    busy = await create_request(client)
    await confirm(
        client, desk, busy, chicago(MONDAY, "08:00"), provider_id=str(DEFAULT_PROVIDER_ID)
    )
    appointment_id = await create_request(client)
    slots = await suggest(client, desk, appointment_id, limit=3)
    assert [(s["start"][11:16], s["provider_id"]) for s in slots] == [
        ("08:00", other),
        ("08:15", other),
        ("08:30", str(DEFAULT_PROVIDER_ID)),
    ]


async def test_a_confirmed_visit_gets_times_to_move_to_with_its_provider_and_length(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    await confirm(client, desk, appointment_id, chicago(MONDAY, "08:00"), duration_minutes=60)
    slots = await suggest(client, desk, appointment_id, limit=2)
    # Its own visit does not block it.
    assert [(s["start"][11:16], s["end"][11:16]) for s in slots] == [
        ("08:00", "09:00"),
        ("08:15", "09:15"),
    ]


async def test_suggestions_for_a_closed_request_or_none_are_problems(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    declined = await client.post(
        f"/api/v1/appointments/{appointment_id}/decline", json={"reason": "x"}, headers=desk
    )
    assert declined.status_code == 200
    url = f"/api/v1/appointments/{appointment_id}/suggestions"
    assert assert_problem(await client.get(url, headers=desk), 409)["type"].endswith(
        "/invalid-transition"
    )
    missing = "/api/v1/appointments/00000000-0000-4000-8000-0000000000ff/suggestions"
    assert_problem(await client.get(missing, headers=desk), 404)
    assert_problem(await client.get(url, params={"limit": 0}, headers=desk), 422)
    assert_problem(await client.get(url), 401)


@pytest.mark.parametrize("action", ["confirm", "reschedule"])
async def test_two_clerks_taking_the_same_suggested_slot_one_wins_one_gets_a_409(
    client: httpx.AsyncClient, desk: dict[str, str], action: str
) -> None:
    """Both read the same first suggestion and click it at the same moment."""
    first, second = [await create_request(client) for _ in range(2)]
    if action == "reschedule":
        for appointment_id, hour in ((first, "15:00"), (second, "16:00")):
            moved = await confirm(client, desk, appointment_id, chicago(MONDAY, hour))
            assert moved.status_code == 200
    [slot] = await suggest(client, desk, first, limit=1)
    assert [slot] == await suggest(client, desk, second, limit=1)

    body = {"start": slot["start"]}
    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/appointments/{appointment_id}/{action}", json=body, headers=desk)
            for appointment_id in (first, second)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    [lost] = [r for r in responses if r.status_code == 409]
    problem = assert_problem(lost, 409)
    assert problem["type"] == "/problems/slot-taken"
    # The detail names the slot (its day and time), never a patient.
    assert "Monday 7 December 2026, 08:00-08:30 (America/Chicago)" in problem["detail"]
    assert "Ruiz" not in lost.text
    assert "Ana" not in lost.text
