"""The front desk moves requests through their lifecycle."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from booking.appointments.models import Appointment
from booking.clock import FrozenClock
from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.helpers import assert_problem, chicago, confirm, create_request, error_fields

DAY = "2026-12-07"  # a Monday, inside the horizon of the frozen clock


async def test_confirm_books_the_visit_in_the_practice_time_zone(
    client: httpx.AsyncClient, desk: dict[str, str], desk_account: Any
) -> None:
    appointment_id = await create_request(client, reason_code="sciatica")

    response = await confirm(client, desk, appointment_id, start="2026-12-07T15:00:00Z")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["fhir_status"] == "booked"
    assert body["start"] == "2026-12-07T09:00:00-06:00"
    assert body["end"] == "2026-12-07T09:45:00-06:00"  # sciatica: 45 minutes by default
    assert body["duration_minutes"] == 45
    assert body["timezone"] == "America/Chicago"
    assert body["provider_id"] == str(DEFAULT_PROVIDER_ID)
    assert response.headers["etag"] == f'"{body["version"]}"'

    events = (
        await client.get(f"/api/v1/appointments/{appointment_id}/events", headers=desk)
    ).json()
    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("created", None, "requested"),
        ("confirmed", "requested", "confirmed"),
    ]
    assert events[1]["actor_staff_id"] == str(desk_account.id)
    assert events[1]["source"] == "api"
    assert events[1]["details"]["start"] == "2026-12-07T15:00:00+00:00"


async def test_the_detail_has_everything_and_an_etag(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client, urgent_symptoms=["recent_trauma"])
    response = await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)
    assert response.status_code == 200
    body = response.json()
    assert body["patient"]["phone"] == "+13125550142"
    assert body["urgent"] is True
    assert body["urgent_symptoms"] == ["recent_trauma"]
    assert body["start"] is None
    assert response.headers["etag"] == '"1"'
    not_modified = await client.get(
        f"/api/v1/appointments/{appointment_id}", headers={**desk, "If-None-Match": '"1"'}
    )
    assert not_modified.status_code == 304


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2026-12-07T09:00:00", "timezone"),
        (chicago("2026-11-30", "08:30"), "future"),  # the clock says 09:00 that day
    ],
    ids=["naive", "past"],
)
async def test_a_start_outside_the_rules_is_a_422_naming_start(
    client: httpx.AsyncClient, desk: dict[str, str], start: str, message: str
) -> None:
    appointment_id = await create_request(client)
    response = await confirm(client, desk, appointment_id, start=start)
    assert error_fields(response) == {"start"}
    assert message in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (chicago("2026-12-05", "10:00"), "do not work that day"),  # Saturday
        (chicago("2026-12-25", "10:00"), "do not work that day"),  # holiday
        (chicago(DAY, "07:30"), "08:00-17:00"),
        (chicago(DAY, "16:45"), "08:00-17:00"),  # 30 minutes would end after 17:00
    ],
    ids=["saturday", "holiday", "before opening", "past closing"],
)
async def test_a_start_outside_opening_hours_is_a_409_outside_working_hours(
    client: httpx.AsyncClient, desk: dict[str, str], start: str, message: str
) -> None:
    """A provider without hours of their own works the practice's opening hours."""
    appointment_id = await create_request(client)
    response = await confirm(client, desk, appointment_id, start=start)
    problem = assert_problem(response, 409)
    assert problem["type"] == "/problems/outside-working-hours"
    assert message in problem["detail"]


async def test_an_overlapping_visit_is_a_409_slot_taken_and_back_to_back_is_fine(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    first, second, third = [await create_request(client) for _ in range(3)]
    assert (await confirm(client, desk, first, start=chicago(DAY, "09:00"))).status_code == 200

    clash = await confirm(client, desk, second, start=chicago(DAY, "09:15"))
    problem = assert_problem(clash, 409)
    assert problem["type"] == "/problems/slot-taken"

    after = await confirm(client, desk, third, start=chicago(DAY, "09:30"))
    assert after.status_code == 200, after.text
    before = await confirm(client, desk, second, start=chicago(DAY, "08:30"))
    assert before.status_code == 200, before.text


async def test_the_database_itself_refuses_overlapping_confirmed_visits(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    """Bypassing the service's friendly check, the constraint (or trigger) still refuses."""
    first, second = [await create_request(client) for _ in range(2)]
    await confirm(client, desk, first, start=chicago(DAY, "10:00"))
    statement = (
        update(Appointment)
        .where(col(Appointment.id) == uuid.UUID(second))
        .values(
            status="confirmed",
            provider_id=DEFAULT_PROVIDER_ID,
            start_at=dt.datetime(2026, 12, 7, 16, 15, tzinfo=dt.UTC),
            end_at=dt.datetime(2026, 12, 7, 16, 45, tzinfo=dt.UTC),
        )
    )
    with pytest.raises(DBAPIError, match="no_overlapping_visits"):
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(statement)


async def test_a_cancelled_visit_frees_its_time(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    first, second = [await create_request(client) for _ in range(2)]
    await confirm(client, desk, first)
    cancelled = await client.post(
        f"/api/v1/appointments/{first}/cancel", json={"reason": "Patient called"}, headers=desk
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert (await confirm(client, desk, second)).status_code == 200


async def test_reschedule_moves_the_visit_and_keeps_the_provider(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    confirmed = await confirm(client, desk, appointment_id, duration_minutes=50)

    moved = await client.post(
        f"/api/v1/appointments/{appointment_id}/reschedule",
        json={"start": chicago("2026-12-08", "14:00")},
        headers=desk,
    )

    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["status"] == "confirmed"
    assert body["start"] == "2026-12-08T14:00:00-06:00"
    assert body["duration_minutes"] == 50
    assert body["version"] == confirmed.json()["version"] + 1
    events = (
        await client.get(f"/api/v1/appointments/{appointment_id}/events", headers=desk)
    ).json()
    assert events[-1]["action"] == "rescheduled"
    assert events[-1]["details"]["previous_start"] == "2026-12-07T15:00:00+00:00"


async def test_a_reschedule_onto_another_visit_is_slot_taken(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    first, second = [await create_request(client) for _ in range(2)]
    await confirm(client, desk, first, start=chicago(DAY, "09:00"))
    await confirm(client, desk, second, start=chicago(DAY, "11:00"))
    response = await client.post(
        f"/api/v1/appointments/{second}/reschedule",
        json={"start": chicago(DAY, "09:10")},
        headers=desk,
    )
    assert assert_problem(response, 409)["type"] == "/problems/slot-taken"
    # Moving a visit within its own time is not a clash with itself.
    itself = await client.post(
        f"/api/v1/appointments/{second}/reschedule",
        json={"start": chicago(DAY, "11:15")},
        headers=desk,
    )
    assert itself.status_code == 200, itself.text


@pytest.mark.parametrize(
    ("setup", "action", "body", "current"),
    [
        ([], "reschedule", {"start": chicago(DAY, "10:00")}, "requested"),
        ([], "complete", None, "requested"),
        ([], "no-show", None, "requested"),
        (["decline"], "confirm", {"start": chicago(DAY, "10:00")}, "declined"),
        (["decline"], "cancel", {"reason": "x"}, "declined"),
        (["confirm"], "decline", {"reason": "x"}, "confirmed"),
        (["confirm"], "confirm", {"start": chicago(DAY, "11:00")}, "confirmed"),
        (["cancel"], "cancel", {"reason": "again"}, "cancelled"),
        (["cancel"], "confirm", {"start": chicago(DAY, "10:00")}, "cancelled"),
    ],
)
async def test_any_other_move_is_a_409_naming_the_current_status(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    setup: list[str],
    action: str,
    body: dict[str, Any] | None,
    current: str,
) -> None:
    appointment_id = await create_request(client)
    for step in setup:
        step_body = {"start": chicago(DAY, "09:00")} if step == "confirm" else {"reason": "r"}
        done = await client.post(
            f"/api/v1/appointments/{appointment_id}/{step}", json=step_body, headers=desk
        )
        assert done.status_code == 200, done.text

    response = await client.post(
        f"/api/v1/appointments/{appointment_id}/{action}", json=body, headers=desk
    )

    problem = assert_problem(response, 409)
    assert problem["type"] == "/problems/invalid-transition"
    assert problem["current_status"] == current
    assert current in problem["detail"]


async def test_decline_needs_a_reason(client: httpx.AsyncClient, desk: dict[str, str]) -> None:
    appointment_id = await create_request(client)
    response = await client.post(
        f"/api/v1/appointments/{appointment_id}/decline", json={"reason": "  "}, headers=desk
    )
    assert error_fields(response) == {"reason"}
    declined = await client.post(
        f"/api/v1/appointments/{appointment_id}/decline",
        json={"reason": "We do not treat this."},
        headers=desk,
    )
    assert declined.json()["status"] == "declined"
    assert declined.json()["fhir_status"] == "cancelled"


async def test_complete_and_no_show_wait_for_the_visit_time(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock
) -> None:
    first, second = [await create_request(client) for _ in range(2)]
    await confirm(client, desk, first, start=chicago(DAY, "09:00"))
    await confirm(client, desk, second, start=chicago(DAY, "10:00"))

    early = await client.post(f"/api/v1/appointments/{first}/complete", headers=desk)
    assert assert_problem(early, 409)["type"] == "/problems/visit-not-started"

    clock.advance(dt.timedelta(days=7, hours=2))  # Monday 7 December, 11:00 in Chicago
    completed = await client.post(f"/api/v1/appointments/{first}/complete", headers=desk)
    assert completed.json()["status"] == "completed"
    assert completed.json()["fhir_status"] == "fulfilled"
    no_show = await client.post(f"/api/v1/appointments/{second}/no-show", headers=desk)
    assert no_show.json()["status"] == "no_show"
    assert no_show.json()["fhir_status"] == "noshow"


async def test_if_match_refuses_a_stale_change_with_412(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    read = await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)
    etag = read.headers["etag"]

    # Another clerk declines it meanwhile.
    await client.post(
        f"/api/v1/appointments/{appointment_id}/decline",
        json={"reason": "Duplicate"},
        headers={**desk, "If-Match": etag},
    )
    stale = await confirm(client, {**desk, "If-Match": etag}, appointment_id)

    problem = assert_problem(stale, 412)
    assert problem["type"] == "/problems/precondition-failed"
    assert problem["current_etag"] == '"2"'
    unknown = await confirm(client, {**desk, "If-Match": '"abc"'}, appointment_id)
    assert_problem(unknown, 412)


async def test_if_match_with_the_current_etag_or_a_star_goes_through(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    confirmed = await confirm(client, {**desk, "If-Match": '"1"'}, appointment_id)
    assert confirmed.status_code == 200
    cancelled = await client.post(
        f"/api/v1/appointments/{appointment_id}/cancel",
        json={"reason": "Patient asked"},
        headers={**desk, "If-Match": "*"},
    )
    assert cancelled.status_code == 200


async def confirm_twice(
    client: httpx.AsyncClient, headers: dict[str, str], appointment_id: str
) -> tuple[httpx.Response, httpx.Response]:
    """The same confirm sent twice with the same headers (an Idempotency-Key among them): the
    second answer must repeat the first, status and body."""
    first = await confirm(client, headers, appointment_id)
    again = await confirm(client, headers, appointment_id)
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    return first, again


async def test_an_action_replayed_with_its_idempotency_key_happens_once(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    headers = {**desk, "Idempotency-Key": "confirm-once"}
    first, again = await confirm_twice(client, headers, appointment_id)
    assert first.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    other = await confirm(client, headers, appointment_id, start=chicago(DAY, "13:00"))
    assert assert_problem(other, 422)["type"] == "/problems/idempotency-key-reused"
    events = (
        await client.get(f"/api/v1/appointments/{appointment_id}/events", headers=desk)
    ).json()
    assert [event["action"] for event in events] == ["created", "confirmed"]


async def test_a_refused_action_is_replayed_as_refused(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    first, second = [await create_request(client) for _ in range(2)]
    await confirm(client, desk, first)
    headers = {**desk, "Idempotency-Key": "clash"}
    refused, replay = await confirm_twice(client, headers, second)
    assert refused.status_code == 409
    assert replay.headers["content-type"] == "application/problem+json"


async def test_with_several_providers_the_provider_must_be_named(
    client: httpx.AsyncClient, desk: dict[str, str], admin: dict[str, str]
) -> None:
    added = await client.post("/api/v1/providers", json={"name": "Dr. Second"}, headers=admin)
    assert added.status_code == 201
    second_provider = added.json()["id"]
    first, second = [await create_request(client) for _ in range(2)]

    unnamed = await confirm(client, desk, first)
    assert error_fields(unnamed) == {"provider_id"}

    one = await confirm(client, desk, first, provider_id=str(DEFAULT_PROVIDER_ID))
    other = await confirm(client, desk, second, provider_id=second_provider)
    assert one.status_code == other.status_code == 200  # the same time, two diaries
    listed = await client.get("/api/v1/providers", headers=desk)
    assert {p["name"] for p in listed.json()} == {"Practice", "Dr. Second"}


async def test_an_unknown_appointment_is_a_404_problem(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    missing = "00000000-0000-4000-8000-00000000dead"
    for response in [
        await client.get(f"/api/v1/appointments/{missing}", headers=desk),
        await client.get(f"/api/v1/appointments/{missing}/events", headers=desk),
        await confirm(client, desk, missing),
    ]:
        assert assert_problem(response, 404)["type"] == "/problems/appointment-not-found"
    assert_problem(await client.get("/api/v1/appointments/not-a-uuid", headers=desk), 422)


async def test_the_audit_trail_is_append_only_in_the_database(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await create_request(client)
    with pytest.raises(DBAPIError, match="append-only"):
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(text("UPDATE appointment_events SET reason = 'rewritten'"))
