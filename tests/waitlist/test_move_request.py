"""A confirmed patient asks for other days through their link; the desk sees "asks to move"."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from booking.appointments.models import Appointment
from tests.factories import OPEN_DAY
from tests.helpers import (
    assert_problem,
    chicago,
    confirm,
    create_request,
    error_fields,
    manage_token,
)
from tests.web.test_desk_board import board_rows
from tests.web.test_desk_sessions import desk_client, signed_in_cookie

NEW_DAYS = [{"date": "2026-12-09", "part_of_day": "afternoon"}, {"date": "2026-12-10"}]


async def confirmed_with_link(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> tuple[str, str]:
    appointment_id = await create_request(client)
    await confirm(client, desk, appointment_id, start=chicago(OPEN_DAY, "09:00"))
    return appointment_id, await manage_token(app, appointment_id)


async def test_a_confirmed_patient_asks_to_move_and_the_desk_sees_it(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str], desk_account: Any
) -> None:
    appointment_id, token = await confirmed_with_link(client, app, desk)

    asked = await client.post(
        f"/api/v1/manage/{token}/move-request", json={"preferred_windows": NEW_DAYS}
    )

    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "confirmed"
    assert asked.json()["move_requested"] is True
    detail = (await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)).json()
    assert detail["status"] == "confirmed"
    assert detail["start"] == chicago(OPEN_DAY, "09:00")
    assert detail["move_requested_at"] is not None
    assert [w["date"] for w in detail["preferred_windows"]] == ["2026-12-09", "2026-12-10"]
    history = (
        await client.get(f"/api/v1/appointments/{appointment_id}/events", headers=desk)
    ).json()
    assert history[-1]["action"] == "move_requested"
    assert history[-1]["source"] == "patient"
    assert history[-1]["details"]["previous_windows"][0]["date"] == OPEN_DAY

    async with desk_client(app) as browser:
        await signed_in_cookie(browser)
        [row] = board_rows(await browser.get("/desk"))
        assert "Asks to move" in row["Reference"]
        page = await browser.get(f"/desk/appointments/{appointment_id}")
        assert 'id="move-requested"' in page.text
        assert "Wed 9 Dec 2026 (afternoon)" in page.text

    moved = await client.post(
        f"/api/v1/appointments/{appointment_id}/reschedule",
        json={"start": chicago("2026-12-09", "14:00")},
        headers=desk,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["move_requested_at"] is None


async def test_only_a_confirmed_visit_can_ask_to_move(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    appointment_id = await create_request(client)
    token = await manage_token(app, appointment_id)
    refused = await client.post(
        f"/api/v1/manage/{token}/move-request", json={"preferred_windows": NEW_DAYS}
    )
    assert assert_problem(refused, 409)["type"].endswith("/not-confirmed")


async def test_the_windows_are_checked_like_a_new_requests(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    _, token = await confirmed_with_link(client, app, desk)
    url = f"/api/v1/manage/{token}/move-request"
    for windows, field in (
        ([], "preferred_windows"),
        ([{"date": "2026-12-05"}], "preferred_windows.0.date"),  # a Saturday
        ([{"date": "1999-01-01"}], "preferred_windows.0.date"),
        ([{"date": "<script>"}], "preferred_windows.0.date"),
        ([{"date": OPEN_DAY, "part_of_day": "night"}], "preferred_windows.0.part_of_day"),
        ([{"date": OPEN_DAY}] * 2, "preferred_windows"),
        ([{"date": OPEN_DAY}] * 4, "preferred_windows"),
    ):
        response = await client.post(url, json={"preferred_windows": windows})
        assert field in error_fields(response), response.text
        assert "<script>" not in response.text
    extra = await client.post(url, json={"preferred_windows": NEW_DAYS, "name": "Ana"})
    assert error_fields(extra) == {"name"}
    assert_problem(
        await client.post(url, content=b"{", headers={"content-type": "application/json"}), 422
    )
    assert_problem(
        await client.post(url, content=b"x", headers={"content-type": "text/plain"}), 415
    )
    unknown = await client.post(
        "/api/v1/manage/nope/move-request", json={"preferred_windows": NEW_DAYS}
    )
    assert_problem(unknown, 404)


async def test_the_patient_asks_on_their_page(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    appointment_id, token = await confirmed_with_link(client, app, desk)
    page = await client.get(f"/manage/{token}")
    assert "Ask for other days" in page.text

    wrong = await client.post(f"/manage/{token}/move", data={"date_1": "2026-12-05"})
    assert wrong.status_code == 422
    assert 'id="date_1-error"' in wrong.text

    asked = await client.post(
        f"/manage/{token}/move", data={"date_1": "2026-12-09", "part_1": "morning"}
    )
    assert asked.status_code == 200, asked.text
    assert "The practice has your new days" in asked.text
    detail = (await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)).json()
    assert detail["preferred_windows"] == [{"date": "2026-12-09", "part_of_day": "morning"}]


@pytest.mark.postgres_only
async def test_a_move_request_racing_a_cancel_is_refused_once_the_cancel_is_in(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    appointment_id, token = await confirmed_with_link(client, app, desk)
    async with app.state.sessionmaker() as other:
        # Another transaction holds the row and cancels the visit while the patient asks.
        locked = select(Appointment).where(col(Appointment.id) == uuid.UUID(appointment_id))
        visit = (await other.execute(locked.with_for_update())).scalar_one()
        asking = asyncio.create_task(
            client.post(
                f"/api/v1/manage/{token}/move-request", json={"preferred_windows": NEW_DAYS}
            )
        )
        await asyncio.sleep(0.3)  # the request reaches the lock and waits on it
        assert not asking.done()
        visit.status = "cancelled"
        visit.start_at = visit.end_at = visit.provider_id = None
        await other.commit()

    assert_problem(await asking, 409)
    history = (
        await client.get(f"/api/v1/appointments/{appointment_id}/events", headers=desk)
    ).json()
    assert "move_requested" not in [event["action"] for event in history]
