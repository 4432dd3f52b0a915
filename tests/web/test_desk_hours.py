"""/desk/providers: admins edit working hours and time off through the API's models and
services; the API's messages on a refusal; others are refused."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.availability import service as availability
from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.helpers import assert_problem
from tests.web.test_desk_sessions import csrf_token, desk_client, desk_sign_in

HOURS = f"/desk/providers/{DEFAULT_PROVIDER_ID}/hours"
TIME_OFF = f"/desk/providers/{DEFAULT_PROVIDER_ID}/time-off"
ADMIN_EMAIL = "admin@practice.example"
LUNCH_BREAK = {f"day_{day}": "08:00-12:00, 13:00-17:00" for day in ("mon", "tue", "wed", "thu")}


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with desk_client(app) as client:
        yield client


@pytest.fixture
async def admin_browser(browser: httpx.AsyncClient, admin_account: Any) -> httpx.AsyncClient:
    signed = await desk_sign_in(browser, ADMIN_EMAIL)
    assert signed.status_code == 303, signed.text
    return browser


async def post_form(
    browser: httpx.AsyncClient, path: str, fields: dict[str, str]
) -> httpx.Response:
    page = await browser.get(HOURS)
    assert page.status_code == 200, page.text
    return await browser.post(path, data={"csrf_token": csrf_token(page), **fields})


async def api_hours(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(f"/api/v1/providers/{DEFAULT_PROVIDER_ID}/hours", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_admin_finds_the_page_from_the_header(admin_browser: httpx.AsyncClient) -> None:
    board = await admin_browser.get("/desk")
    assert 'href="/desk/providers"' in board.text
    listed = await admin_browser.get("/desk/providers")
    assert listed.status_code == 200
    assert f'href="{HOURS}"' in listed.text
    page = await admin_browser.get(HOURS)
    assert "works the practice's default opening hours" in page.text


async def test_the_admin_replaces_the_weekly_hours_and_free_time_follows(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    admin_browser: httpx.AsyncClient,
) -> None:
    saved = await post_form(admin_browser, HOURS, {**LUNCH_BREAK, "day_fri": "09:00-13:00"})

    assert saved.status_code == 303
    assert saved.headers["location"] == f"{HOURS}?done=hours"
    hours = await api_hours(client, admin)
    assert hours["uses_practice_hours"] is False
    assert {"weekday": "mon", "start": "13:00", "end": "17:00"} in hours["weekly"]
    assert {"weekday": "fri", "start": "09:00", "end": "13:00"} in hours["weekly"]
    assert not any(r["weekday"] == "sat" for r in hours["weekly"])
    page = await admin_browser.get(saved.headers["location"])
    assert "Working hours saved." in page.text
    assert 'value="08:00-12:00, 13:00-17:00"' in page.text

    async with app.state.sessionmaker() as session:
        slots = await availability.availability(
            session,
            first_day=dt.date(2026, 12, 7),
            last_day=dt.date(2026, 12, 7),
            duration_minutes=30,
            provider_id=DEFAULT_PROVIDER_ID,
            settings=app.state.settings,
            now=dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC),
        )
    local = [f"{s.start_at.astimezone(app.state.settings.timezone):%H:%M}" for s in slots]
    assert "11:30" in local
    assert "13:00" in local
    assert not any("12:00" <= t < "13:00" for t in local)
    assert "11:45" not in local

    back = await post_form(admin_browser, HOURS, {"practice": "1"})
    assert back.status_code == 303
    assert (await api_hours(client, admin))["uses_practice_hours"] is True


async def test_overlapping_ranges_show_the_api_message_and_change_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], admin_browser: httpx.AsyncClient
) -> None:
    before = await api_hours(client, admin)
    api = await client.put(
        f"/api/v1/providers/{DEFAULT_PROVIDER_ID}/hours",
        json={
            "weekly": [
                {"weekday": "mon", "start": "08:00", "end": "12:00"},
                {"weekday": "mon", "start": "11:00", "end": "17:00"},
            ]
        },
        headers=admin,
    )
    message = assert_problem(api, 422)["errors"][0]["message"]

    typed = "08:00-12:00, 11:00-17:00"
    refused = await post_form(admin_browser, HOURS, {"day_mon": typed})

    assert refused.status_code == 422
    assert html.escape(message, quote=True)[1:] in refused.text  # (capitalised on the page)
    assert f'value="{typed}"' in refused.text
    assert await api_hours(client, admin) == before


async def test_a_bad_time_is_said_under_its_day(admin_browser: httpx.AsyncClient) -> None:
    refused = await post_form(admin_browser, HOURS, {"day_tue": "08:00-25:00"})
    assert refused.status_code == 422
    assert 'id="day_tue-error"' in refused.text
    assert "must be a time of day as HH:MM" in refused.text


async def test_the_admin_adds_and_removes_time_off(
    client: httpx.AsyncClient, admin: dict[str, str], admin_browser: httpx.AsyncClient
) -> None:
    added = await post_form(
        admin_browser,
        TIME_OFF,
        {"start_date": "2026-12-24", "end_date": "2026-12-24", "reason": "Holiday"},
    )
    assert added.status_code == 303
    later = await post_form(
        admin_browser,
        TIME_OFF,
        {
            "start_date": "2026-12-10",
            "start_time": "13:00",
            "end_date": "2026-12-10",
            "end_time": "15:00",
        },
    )
    assert later.status_code == 303

    time_off = (await api_hours(client, admin))["time_off"]
    assert [(t["start"], t["end"], t["reason"]) for t in time_off] == [
        ("2026-12-10T13:00:00-06:00", "2026-12-10T15:00:00-06:00", None),
        ("2026-12-24T00:00:00-06:00", "2026-12-25T00:00:00-06:00", "Holiday"),
    ]
    page = await admin_browser.get(f"{HOURS}?done=added")
    assert "Time off added." in page.text
    assert page.text.index("Thu 10 Dec 2026, 1:00 PM to Thu 10 Dec 2026, 3:00 PM") < (
        page.text.index("Thu 24 Dec 2026, all day")
    )

    removed = await admin_browser.post(
        f"{TIME_OFF}/{time_off[0]['id']}/remove", data={"csrf_token": csrf_token(page)}
    )
    assert removed.status_code == 303
    left = (await api_hours(client, admin))["time_off"]
    assert [t["id"] for t in left] == [time_off[1]["id"]]

    again = await admin_browser.post(
        f"{TIME_OFF}/{time_off[0]['id']}/remove", data={"csrf_token": csrf_token(page)}
    )
    assert again.headers["location"] == f"{HOURS}?done=gone"


async def test_time_off_ending_before_it_starts_shows_the_api_message(
    client: httpx.AsyncClient, admin: dict[str, str], admin_browser: httpx.AsyncClient
) -> None:
    fields = {"start_date": "2026-12-10", "end_date": "2026-12-09", "reason": "Course"}
    refused = await post_form(admin_browser, TIME_OFF, fields)
    assert refused.status_code == 422
    assert "End must be later than start." in refused.text
    assert 'value="Course"' in refused.text
    assert 'value="2026-12-09"' in refused.text
    assert (await api_hours(client, admin))["time_off"] == []


async def test_a_front_desk_clerk_is_refused(
    browser: httpx.AsyncClient, desk_account: Any, admin_account: Any
) -> None:
    assert (await desk_sign_in(browser)).status_code == 303
    board = await browser.get("/desk")
    assert 'href="/desk/providers"' not in board.text
    assert (await browser.get("/desk/providers")).status_code == 403
    assert (await browser.get(HOURS)).status_code == 403
    posted = await browser.post(
        HOURS, data={"csrf_token": csrf_token(board), "day_mon": "08:00-09:00"}
    )
    assert posted.status_code == 403


async def test_a_forged_form_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], admin_browser: httpx.AsyncClient
) -> None:
    before = await api_hours(client, admin)
    forged = await admin_browser.post(
        HOURS, data={"csrf_token": "forged", "day_mon": "08:00-09:00"}
    )
    assert forged.status_code == 403
    off = await admin_browser.post(
        TIME_OFF,
        data={"csrf_token": "forged", "start_date": "2026-12-24", "end_date": "2026-12-24"},
    )
    assert off.status_code == 403
    assert await api_hours(client, admin) == before
