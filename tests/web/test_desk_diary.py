"""/desk/diary: one provider's day or week, visits in time order with the free time between
them, in the practice's time zone (also on the day the clocks go back)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.availability.helpers import book, book_visits_around_the_fall_back
from tests.helpers import chicago
from tests.web.test_desk_sessions import desk_client, signed_in_cookie

MONDAY, TUESDAY = "2026-12-07", "2026-12-08"


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with desk_client(app) as client:
        yield client


def days_of(page: httpx.Response) -> dict[str, list[str]]:
    """Each day's heading and its rows as text, in page order."""
    assert page.status_code == 200, page.text
    shown = {}
    for heading, body in re.findall(
        r'<h2 id="day-[^"]+">(.*?)</h2>(.*?)</section>', page.text, re.S
    ):
        rows = re.findall(r"<li class=\"[a-z]+\">(.*?)</li>", body, re.S)
        shown[_text(heading)] = [_text(row) for row in rows]
    return shown


def _text(fragment: str) -> str:
    """The text of a piece of the page, its en dashes written as hyphens."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\N{EN DASH}", "-")
    return " ".join(text.split())


async def test_the_day_lists_visits_in_time_order_with_the_free_time_between(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    later = await book(client, desk, chicago(MONDAY, "14:00"))
    first = await book(
        client,
        desk,
        chicago(MONDAY, "09:00"),
        duration_minutes=45,
        request={"urgent_symptoms": ["recent_trauma"], "reason_code": "sciatica"},
    )
    await book(client, desk, chicago(MONDAY, "10:30"), duration_minutes=30)
    await book(client, desk, chicago(TUESDAY, "09:00"))
    await signed_in_cookie(browser)

    page = await browser.get("/desk/diary", params={"date": MONDAY, "view": "day"})
    assert days_of(page) == {
        "Monday 7 December 2026": [
            "free 8:00 AM-9:00 AM 60 min",
            "9:00 AM-9:45 AM "
            + _text(f"{_reference(page, first)}")
            + " Ana Ruiz · Sciatica / leg pain · 45 min Urgent",
            "free 9:45 AM-10:30 AM 45 min",
            f"10:30 AM-11:00 AM {_reference(page, None, 1)} Ana Ruiz · Back pain · 30 min",
            "free 11:00 AM-2:00 PM 180 min",
            f"2:00 PM-2:30 PM {_reference(page, later)} Ana Ruiz · Back pain · 30 min",
            "free 2:30 PM-5:00 PM 150 min",
        ]
    }
    # Each visit links to its detail page; no patient data in any link.
    assert f'href="/desk/appointments/{first}"' in page.text
    assert "Ana" not in " ".join(re.findall(r'href="([^"]+)"', page.text))
    assert 'href="/desk/diary"' in page.text  # the desk's navigation


def _reference(page: httpx.Response, appointment_id: str | None, index: int = 0) -> str:
    """The reference shown for this visit (or for the index-th visit of the page)."""
    if appointment_id is None:
        found = re.findall(r'<a href="/desk/appointments/[^"]+">([^<]+)</a>', page.text)
        return found[index]
    found_one = re.search(rf'<a href="/desk/appointments/{appointment_id}">([^<]+)</a>', page.text)
    assert found_one, page.text
    return found_one.group(1)


async def test_the_week_shows_seven_days_from_monday_and_only_the_chosen_provider(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    desk: dict[str, str],
    second_provider: str,
) -> None:
    await book(client, desk, chicago(TUESDAY, "11:00"), provider_id=str(DEFAULT_PROVIDER_ID))
    await book(client, desk, chicago(MONDAY, "16:00"), provider_id=str(DEFAULT_PROVIDER_ID))
    theirs = await book(client, desk, chicago(MONDAY, "09:00"), provider_id=second_provider)
    await signed_in_cookie(browser)

    # Wednesday asked for: the week from Monday.
    page = await browser.get("/desk/diary", params={"date": "2026-12-09", "view": "week"})
    week = days_of(page)
    assert list(week) == [
        "Monday 7 December 2026",
        "Tuesday 8 December 2026",
        "Wednesday 9 December 2026",
        "Thursday 10 December 2026",
        "Friday 11 December 2026",
        "Saturday 12 December 2026",
        "Sunday 13 December 2026",
    ]
    assert week["Monday 7 December 2026"][0] == "free 8:00 AM-4:00 PM 480 min"
    assert week["Monday 7 December 2026"][1].startswith("4:00 PM-4:30 PM ")
    assert week["Tuesday 8 December 2026"][1].startswith("11:00 AM-11:30 AM ")
    assert week["Wednesday 9 December 2026"] == ["free 8:00 AM-5:00 PM 540 min"]
    assert week["Saturday 12 December 2026"] == []
    assert "Not working." in page.text
    assert f"/desk/appointments/{theirs}" not in page.text

    page = await browser.get("/desk/diary", params={"date": MONDAY, "provider": second_provider})
    assert f"/desk/appointments/{theirs}" in page.text
    assert [row.split(" ")[0:3] for row in days_of(page)["Monday 7 December 2026"]] == [
        ["free", "8:00", "AM-9:00"],
        ["9:00", "AM-9:30", "AM"],
        ["free", "9:30", "AM-5:00"],
    ]
    # Navigation keeps the view and the provider; no patient data in it.
    assert "date=2026-12-08&amp;view=day&amp;provider=" + second_provider in page.text
    assert "date=2026-12-06&amp;view=day&amp;provider=" + second_provider in page.text


async def test_the_day_the_clocks_go_back_has_its_25_hours(
    app: FastAPI,
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    admin_account: Any,
    desk_account: Any,
    clock: FrozenClock,
) -> None:
    """Sunday 1 November 2026 in Chicago: 00:00 CDT to 24:00 CST. Its visits, and the free
    time between them, are in it and only in it, each time with its zone's name."""
    await book_visits_around_the_fall_back(client, app, admin_account, clock)
    await signed_in_cookie(browser)

    sunday = days_of(await browser.get("/desk/diary", params={"date": "2026-11-01"}))
    rows = sunday["Sunday 1 November 2026"]
    assert [row.split(" Ana")[0] for row in rows] == [
        "free 12:00 AM CDT-12:30 AM CDT 30 min",
        rows[1].split(" Ana")[0],
        "free 1:00 AM CDT-11:00 PM CST 1380 min",
        rows[3].split(" Ana")[0],
        "free 11:30 PM CST-11:59 PM CST 29 min",
    ]
    assert rows[1].startswith("12:30 AM CDT-1:00 AM CDT ")
    assert rows[3].startswith("11:00 PM CST-11:30 PM CST ")
    week = days_of(await browser.get("/desk/diary", params={"date": "2026-11-01", "view": "week"}))
    assert next(iter(week)) == "Monday 26 October 2026"
    assert sum(row.count(" Ana ") for rows in week.values() for row in rows) == 2
    monday = days_of(await browser.get("/desk/diary", params={"date": "2026-11-02"}))
    assert monday["Monday 2 November 2026"][0].startswith("12:00 AM-12:30 AM ")


async def test_the_diary_needs_a_signed_in_desk(app: FastAPI) -> None:
    async with desk_client(app) as anonymous:
        response = await anonymous.get("/desk/diary", params={"date": MONDAY})
    assert response.status_code == 303
    assert response.headers["location"] == "/desk/login"


async def test_a_bad_query_falls_back_to_today(
    browser: httpx.AsyncClient, desk_account: Any
) -> None:
    await signed_in_cookie(browser)
    page = await browser.get(
        "/desk/diary", params={"date": "7 Dec", "view": "month", "provider": "x"}
    )
    assert list(days_of(page)) == ["Monday 30 November 2026"]


async def test_a_visit_held_or_missed_says_so_a_confirmed_one_does_not(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    desk: dict[str, str],
    clock: FrozenClock,
) -> None:
    held = await book(client, desk, chicago(MONDAY, "09:00"))
    missed = await book(client, desk, chicago(MONDAY, "10:00"))
    await book(client, desk, chicago(MONDAY, "16:00"))
    clock.advance(dt.datetime(2026, 12, 7, 17, tzinfo=dt.UTC) - clock.now())  # 11:00 CST
    for appointment_id, slug in ((held, "complete"), (missed, "no-show")):
        response = await client.post(f"/api/v1/appointments/{appointment_id}/{slug}", headers=desk)
        assert response.status_code == 200, response.text
    await signed_in_cookie(browser)
    rows = days_of(await browser.get("/desk/diary", params={"date": MONDAY}))[
        "Monday 7 December 2026"
    ]
    visits = [row for row in rows if not row.startswith("free")]
    assert visits[0].endswith("30 min Completed")
    assert visits[1].endswith("30 min No-show")
    assert visits[2].endswith("30 min")
