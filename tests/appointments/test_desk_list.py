"""GET /api/v1/appointments: the desk's list, its filters, orders and cursor."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from booking.clock import FrozenClock
from tests.helpers import assert_problem, chicago, confirm, create_request, error_fields


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/appointments", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_urgent_first_then_oldest_first(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock
) -> None:
    ids = []
    for urgent in (False, True, False, True):
        clock.advance(dt.timedelta(minutes=1))
        ids.append(
            await create_request(client, urgent_symptoms=["recent_trauma"] if urgent else [])
        )
    old_routine, old_urgent, new_routine, new_urgent = ids

    order = [item["id"] for item in await listed(client, desk)]

    assert order == [old_urgent, new_urgent, old_routine, new_routine]


async def test_filters_by_status_reason_and_urgency(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    back = await create_request(client, reason_code="back_pain")
    neck = await create_request(client, reason_code="neck_pain", urgent_symptoms=["recent_trauma"])
    declined = await create_request(client, reason_code="neck_pain")
    await client.post(
        f"/api/v1/appointments/{declined}/decline", json={"reason": "r"}, headers=desk
    )

    assert {i["id"] for i in await listed(client, desk, status="requested")} == {back, neck}
    assert {i["id"] for i in await listed(client, desk, reason_code="neck_pain")} == {
        neck,
        declined,
    }
    assert {i["id"] for i in await listed(client, desk, urgent="true")} == {neck}
    both = await listed(client, desk, status=["requested", "declined"], reason_code="neck_pain")
    assert {i["id"] for i in both} == {neck, declined}


@pytest.mark.parametrize(
    ("q", "matches"),
    [
        ("ruiz", True),
        ("ANA RU", True),
        ("ana.ruiz@example", True),
        ("555-0142", True),
        ("(312) 555 0142", True),
        ("nobody", False),
        ("%", False),
    ],
)
async def test_search_by_name_email_and_phone(
    client: httpx.AsyncClient, desk: dict[str, str], q: str, matches: bool
) -> None:
    appointment_id = await create_request(client)
    await create_request(
        client,
        patient__first_name="Bo",
        patient__last_name="Lee",
        patient__email="bo@example.org",
        patient__phone="+44 20 7946 0958",
    )
    found = {item["id"] for item in await listed(client, desk, q=q)}
    assert (found == {appointment_id}) is matches, found


async def test_search_by_reference_with_or_without_the_dash(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/appointments",
        json=__import__("tests.factories", fromlist=["x"]).appointment_request(),
    )
    reference = response.json()["reference"]
    await create_request(client)
    for q in (reference, reference.replace("-", "").lower(), reference.replace("-", " ")):
        found = await listed(client, desk, q=q)
        assert [item["reference"] for item in found] == [reference], q


async def test_created_and_scheduled_date_ranges_are_practice_days(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock
) -> None:
    # 23:30 in Chicago on 30 November is already 1 December in UTC.
    clock.advance(dt.timedelta(hours=14, minutes=30))
    late = await create_request(client)
    clock.advance(dt.timedelta(hours=1))
    next_day = await create_request(client)

    on_30th = await listed(client, desk, created_from="2026-11-30", created_to="2026-11-30")
    assert [item["id"] for item in on_30th] == [late]
    on_1st = await listed(client, desk, created_from="2026-12-01")
    assert [item["id"] for item in on_1st] == [next_day]

    await confirm(client, desk, late, start=chicago("2026-12-08", "16:00"))
    scheduled = await listed(client, desk, scheduled_from="2026-12-08", scheduled_to="2026-12-08")
    assert [item["id"] for item in scheduled] == [late]
    assert await listed(client, desk, scheduled_from="2026-12-09") == []


async def test_confirmed_visits_are_listed_by_time(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    later, earlier = [await create_request(client) for _ in range(2)]
    for appointment_id, time in ((later, "14:00"), (earlier, "09:00")):
        await confirm(client, desk, appointment_id, start=chicago("2026-12-07", time))
    await create_request(client)  # still requested: not in the confirmed list
    order = [item["id"] for item in await listed(client, desk, status="confirmed")]
    assert order == [earlier, later]


async def test_newest_first_on_request(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock
) -> None:
    first = await create_request(client)
    clock.advance(dt.timedelta(seconds=1))
    second = await create_request(client, urgent_symptoms=["recent_trauma"])
    order = [item["id"] for item in await listed(client, desk, sort="newest")]
    assert order == [second, first]


@pytest.mark.parametrize("sort", ["triage", "newest", "schedule"])
async def test_walking_the_pages_while_requests_arrive_sees_every_row_once(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, sort: str
) -> None:
    existing = []
    for number in range(120):
        if number % 10 == 0:
            clock.advance(dt.timedelta(seconds=1))  # some rows share a timestamp
        urgent = ["recent_trauma"] if number % 7 == 0 else []
        existing.append(await create_request(client, urgent_symptoms=urgent))
    if sort == "schedule":
        for index, appointment_id in enumerate(existing[:40]):
            day = dt.date(2026, 12, 7) + dt.timedelta(days=7 * (index // 16))
            start = dt.datetime.combine(day, dt.time(8), dt.UTC).replace(
                hour=14 + (index % 16) // 2, minute=30 * (index % 2)
            )
            response = await confirm(client, desk, appointment_id, start=start.isoformat())
            assert response.status_code == 200, response.text
        existing = existing[:40]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 7, "sort": sort}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/appointments", params=params, headers=desk)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        # New requests keep arriving while the clerk pages through.
        clock.advance(dt.timedelta(seconds=1))
        await create_request(client, urgent_symptoms=["recent_trauma"] if pages % 2 else [])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)), "a row was listed twice"
    assert set(existing) <= set(seen), "a row that existed before the walk was skipped"


async def test_a_limit_over_100_is_refused(client: httpx.AsyncClient, desk: dict[str, str]) -> None:
    response = await client.get("/api/v1/appointments", params={"limit": 101}, headers=desk)
    assert error_fields(response) == {"query.limit"}


@pytest.mark.parametrize("cursor", ["garbage", "eyJvIjoidHJpYWdlIn0", "e30", "!!!"])
async def test_a_forged_cursor_is_a_422(
    client: httpx.AsyncClient, desk: dict[str, str], cursor: str
) -> None:
    response = await client.get("/api/v1/appointments", params={"cursor": cursor}, headers=desk)
    assert error_fields(response) == {"query.cursor"}


async def test_a_cursor_cannot_be_used_with_other_filters(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    for _ in range(3):
        await create_request(client)
    first = await client.get("/api/v1/appointments", params={"limit": 1}, headers=desk)
    cursor = first.json()["next_cursor"]
    assert cursor
    response = await client.get(
        "/api/v1/appointments",
        params={"limit": 1, "cursor": cursor, "status": "requested"},
        headers=desk,
    )
    problem = assert_problem(response, 422)
    assert "other filters" in problem["errors"][0]["message"]
