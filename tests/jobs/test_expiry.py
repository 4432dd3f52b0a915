"""Requests nobody answered expire: by age, or once every preferred day has passed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.jobs.scheduler import Scheduler
from tests.helpers import assert_problem, confirm, create_request
from tests.jobs.conftest import Jobs
from tests.notifications.helpers import manage_token, outbox, parts
from tests.web.test_desk_board import board_rows, show
from tests.web.test_desk_sessions import desk_client, signed_in_cookie

PATIENT = "ana.ruiz@example.com"
FAR_DAY = "2027-01-25"  # a Monday well after the 14 days (the horizon is 90)
MINUTE = dt.timedelta(minutes=1)


async def status_of(client: httpx.AsyncClient, desk: dict[str, str], appointment_id: str) -> str:
    response = await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)
    return str(response.json()["status"])


async def test_a_request_nobody_answered_expires_after_the_days_and_the_patient_is_told(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, jobs: Jobs
) -> None:
    waiting = await create_request(
        client, preferred_windows=[{"date": FAR_DAY, "part_of_day": "any"}]
    )
    answered = await create_request(
        client, preferred_windows=[{"date": FAR_DAY, "part_of_day": "any"}]
    )
    assert (await confirm(client, desk, answered)).status_code == 200
    await jobs.deliver()

    clock.advance(dt.timedelta(days=14) - MINUTE)
    assert await jobs.tick() == []
    assert await status_of(client, desk, waiting) == "requested"

    clock.advance(MINUTE)
    [email] = await jobs.tick()

    assert await status_of(client, desk, waiting) == "expired"
    assert await status_of(client, desk, answered) == "confirmed"
    events = (await client.get(f"/api/v1/appointments/{waiting}/events", headers=desk)).json()
    last = events[-1]
    assert (last["action"], last["from_status"], last["to_status"], last["source"]) == (
        "expired",
        "requested",
        "expired",
        "system",
    )
    assert last["actor_staff_id"] is None
    assert "14 days" in last["reason"]
    assert email["To"] == PATIENT
    assert email["Subject"] == "About your appointment request at Spine Practice"
    text, html = parts(email)["text"], parts(email)["html"]
    assert "+1 312 555 0100" in text
    assert "+1 312 555 0100" in html
    assert "https://book.spine.example/book" in text
    assert 'href="https://book.spine.example/book"' in html
    assert manage_token(email)
    assert "back_pain" not in text
    assert "Back pain" not in text

    # Done once: the next ticks find nothing more.
    clock.advance(dt.timedelta(days=1))
    assert await jobs.tick() == []


@pytest.mark.settings(request_expiry_days=0)
async def test_a_request_expires_once_every_preferred_day_has_passed_in_practice_time(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, jobs: Jobs
) -> None:
    two_days = await create_request(
        client,
        preferred_windows=[
            {"date": "2026-12-07", "part_of_day": "any"},
            {"date": "2026-12-08", "part_of_day": "morning"},
        ],
    )
    one_day = await create_request(
        client, preferred_windows=[{"date": "2026-12-07", "part_of_day": "any"}]
    )
    await jobs.deliver()

    # 23:59 on Monday 7 December in Chicago (05:59 UTC on the 8th): the day is not over yet.
    clock.advance(dt.datetime(2026, 12, 8, 5, 59, tzinfo=dt.UTC) - clock.now())
    assert await jobs.tick() == []
    assert await status_of(client, desk, one_day) == "requested"

    clock.advance(MINUTE)  # midnight in Chicago
    [email] = await jobs.tick()
    assert email["To"] == PATIENT
    assert await status_of(client, desk, one_day) == "expired"
    assert await status_of(client, desk, two_days) == "requested"

    clock.advance(dt.timedelta(days=1))
    assert len(await jobs.tick()) == 1
    assert await status_of(client, desk, two_days) == "expired"


async def test_a_request_due_by_age_and_by_its_passed_day_expires_once(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, jobs: Jobs
) -> None:
    waiting = await create_request(
        client, preferred_windows=[{"date": "2026-12-07", "part_of_day": "any"}]
    )
    await jobs.deliver()

    # Both scans of one tick find it due: the age scan expires it, the passed-days scan must
    # then find it no longer waiting.
    clock.advance(dt.timedelta(days=30))
    [email] = await jobs.tick()
    assert email["To"] == PATIENT
    assert await status_of(client, desk, waiting) == "expired"
    events = (await client.get(f"/api/v1/appointments/{waiting}/events", headers=desk)).json()
    assert [event["action"] for event in events].count("expired") == 1
    assert "14 days" in events[-1]["reason"]


@pytest.mark.settings(request_expiry_days=0)
async def test_no_expiry_by_age_when_it_is_off(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, jobs: Jobs
) -> None:
    waiting = await create_request(
        client, preferred_windows=[{"date": FAR_DAY, "part_of_day": "any"}]
    )
    await jobs.deliver()
    clock.advance(dt.timedelta(days=40))
    assert await jobs.tick() == []
    assert await status_of(client, desk, waiting) == "requested"


@pytest.mark.settings(
    webhook_urls="https://hooks.example/booking",
    webhook_secret="a-webhook-secret-16+",
    public_base_url="",  # the desk's cookies are Secure under https, and the client is http
)
async def test_an_expired_request_is_closed_everywhere_statuses_show(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    clock: FrozenClock,
    scheduler: Scheduler,
    app: FastAPI,
    desk_account: Any,
) -> None:
    expired = await create_request(client, patient__first_name="Edna")
    clock.advance(dt.timedelta(days=15))
    await scheduler.tick()

    [webhook] = [m for m in await outbox(app) if m.event == "appointment.expired"]
    assert webhook.payload["type"] == "appointment.expired"
    assert webhook.payload["data"]["status"] == "expired"
    assert "Edna" not in str(webhook.payload)
    assert PATIENT not in str(webhook.payload)

    listed = await client.get("/api/v1/appointments", params={"status": "expired"}, headers=desk)
    assert [item["id"] for item in listed.json()["items"]] == [expired]
    assert listed.json()["items"][0]["fhir_status"] == "cancelled"
    # No one but the scheduler expires a request, and nothing moves an expired one.
    refused = await client.post(f"/api/v1/appointments/{expired}/expire", headers=desk)
    assert refused.status_code in {404, 405}
    assert_problem(await confirm(client, desk, expired), 409)

    async with desk_client(app) as browser:
        await signed_in_cookie(browser)
        board = await show(browser, status="expired")
        detail = await browser.get(f"/desk/appointments/{expired}")
    assert [row["Patient"].split()[0] for row in board_rows(board)] == ["Edna"]
    assert '<option value="expired" selected>Expired</option>' in board.text
    assert "Expired" in detail.text
    assert "Confirm with a time" not in detail.text
