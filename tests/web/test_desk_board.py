"""The desk's board (/desk) over plain HTTP: what each row shows, which requests are listed,
and how filters travel (never in a URL)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from tests.helpers import chicago, create_request
from tests.web.test_desk_sessions import (
    csrf_token,
    desk_client,
    signed_in_cookie,
    stored_sessions,
)


class _Rows(HTMLParser):
    """The board's table as one dict per row: column heading → the cell's text."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" / ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag in ("th", "td") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            (self.rows[-1] if self._in_body else self.headings).append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def board_rows(page: httpx.Response) -> list[dict[str, str]]:
    assert page.status_code == 200, page.text
    table = _Rows()
    table.feed(page.text[page.text.index("<table") :])
    return [dict(zip(table.headings, row, strict=False)) for row in table.rows]


@pytest.fixture
async def browser(app: FastAPI, desk_account: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in desk browser, as far as forms go: httpx with the desk's cookies."""
    async with desk_client(app) as client:
        await signed_in_cookie(client)
        yield client


async def test_each_row_shows_the_patients_preferred_days(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    await create_request(
        client,
        preferred_windows=[
            {"date": "2026-12-07", "part_of_day": "morning"},
            {"date": "2026-12-09", "part_of_day": "any"},
        ],
    )

    [row] = board_rows(await browser.get("/desk"))

    assert row["Preferred days"] == "Mon 7 Dec morning / Wed 9 Dec any time"


async def show(browser: httpx.AsyncClient, **filters: str) -> httpx.Response:
    """Filter the board as its form does: a POST with the page's CSRF token."""
    board = await browser.get("/desk")
    return await browser.post(
        "/desk", data={"csrf_token": csrf_token(board), **filters}, follow_redirects=True
    )


def first_names(page: httpx.Response) -> set[str]:
    return {row["Patient"].split()[0] for row in board_rows(page) if row.get("Patient")}


async def a_request(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    first_name: str,
    *actions: tuple[str, dict[str, Any]],
) -> str:
    appointment_id = await create_request(client, patient__first_name=first_name)
    for slug, body in actions:
        response = await client.post(
            f"/api/v1/appointments/{appointment_id}/{slug}", json=body, headers=desk
        )
        assert response.status_code == 200, response.text
    return appointment_id


def booked(day: str, time: str) -> tuple[str, dict[str, Any]]:
    return ("confirm", {"start": chicago(day, time), "duration_minutes": 60})


async def test_the_board_lists_open_requests_by_default_and_closed_ones_behind_the_filter(
    app: FastAPI,
    client: httpx.AsyncClient,
    desk: dict[str, str],
    clock: FrozenClock,
) -> None:
    because = {"reason": "Not for this practice"}
    await a_request(client, desk, "Rita")
    await a_request(client, desk, "Dora", ("decline", because))
    await a_request(client, desk, "Cody", ("cancel", because))
    await a_request(client, desk, "Pat", booked("2026-12-07", "09:30"))
    dolly = await a_request(client, desk, "Dolly", booked("2026-12-07", "11:00"))
    await a_request(client, desk, "Ivy", booked("2026-12-08", "09:30"))
    await a_request(client, desk, "Fern", booked("2026-12-09", "09:30"))
    # Tuesday 8 December, 9:45 in Chicago: Ivy's visit is under way, Pat's is over.
    clock.advance(dt.datetime(2026, 12, 8, 15, 45, tzinfo=dt.UTC) - clock.now())
    response = await client.post(f"/api/v1/appointments/{dolly}/complete", headers=desk)
    assert response.status_code == 200, response.text

    async with desk_client(app) as browser:
        await signed_in_cookie(browser)
        assert first_names(await browser.get("/desk")) == {"Rita", "Ivy", "Fern"}
        assert first_names(await show(browser, status="closed")) == {"Dora", "Cody", "Pat", "Dolly"}
        everything = {"Rita", "Dora", "Cody", "Pat", "Dolly", "Ivy", "Fern"}
        assert first_names(await show(browser, status="all")) == everything
        # One status is that status, whether the visit is over or not.
        assert first_names(await show(browser, status="confirmed")) == {"Pat", "Ivy", "Fern"}
        # The default, once more: open.
        assert first_names(await show(browser, status="")) == {"Rita", "Ivy", "Fern"}


async def test_an_empty_open_list_says_where_the_closed_requests_are(
    client: httpx.AsyncClient, desk: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await a_request(client, desk, "Dora", ("decline", {"reason": "Not for this practice"}))

    page = await show(browser, q="Dora")

    assert first_names(page) == set()
    assert "No open requests match. Closed ones" in page.text
    assert first_names(await show(browser, q="Dora", status="all")) == {"Dora"}


async def test_phone_numbers_read_as_the_practice_region_writes_them_and_still_call(
    client: httpx.AsyncClient, desk: dict[str, str], browser: httpx.AsyncClient
) -> None:
    local = await create_request(client, patient__first_name="Ana")  # "(312) 555-0142"
    await create_request(client, patient__first_name="Olivia", patient__phone="+44 20 7946 0958")

    board = await browser.get("/desk")
    detail = await browser.get(f"/desk/appointments/{local}")

    phones = {
        row["Patient"].split()[0]: row["Patient"].split(" / ")[1] for row in board_rows(board)
    }
    assert phones == {"Ana": "(312) 555-0142", "Olivia": "+44 20 7946 0958"}
    assert '<a href="tel:+13125550142">(312) 555-0142</a>' in board.text
    assert '<a href="tel:+442079460958">+44 20 7946 0958</a>' in board.text
    assert '<a href="tel:+13125550142">(312) 555-0142</a>' in detail.text


async def kept_filters(app: FastAPI) -> list[str | None]:
    return [stored.board_filter for stored in await stored_sessions(app)]


async def test_a_filter_is_posted_kept_server_side_and_the_board_is_a_plain_get(
    app: FastAPI, client: httpx.AsyncClient, desk: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await create_request(client, patient__first_name="Ana")
    await create_request(client, patient__first_name="Chen")
    board = await browser.get("/desk")

    posted = await browser.post("/desk", data={"csrf_token": csrf_token(board), "q": "Chen"})

    assert posted.status_code == 303
    assert posted.headers["location"] == "/desk"  # no query string: the search is not in it
    assert "set-cookie" not in posted.headers  # nor in a cookie
    for _ in range(2):  # Back, or reload: a GET, nothing to resubmit
        shown = await browser.get("/desk")
        assert first_names(shown) == {"Chen"}
        assert 'name="q" type="search" value="Chen"' in shown.text
    [kept] = await kept_filters(app)
    assert kept is not None
    assert "Chen" in kept


async def test_the_kept_filter_is_the_sessions_own_and_ends_with_it(
    app: FastAPI, client: httpx.AsyncClient, desk: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await create_request(client, patient__first_name="Ana")
    await create_request(client, patient__first_name="Chen")
    await show(browser, q="Chen")
    async with desk_client(app, "10.0.0.2") as laptop:  # the same clerk, another browser
        await signed_in_cookie(laptop)
        assert first_names(await laptop.get("/desk")) == {"Ana", "Chen"}

    board = await browser.get("/desk")
    await browser.post("/desk/logout", data={"csrf_token": csrf_token(board)})
    assert all("Chen" not in (kept or "") for kept in await kept_filters(app))
    await signed_in_cookie(browser)
    assert first_names(await browser.get("/desk")) == {"Ana", "Chen"}


async def test_clear_goes_back_to_the_open_requests_and_a_forged_post_changes_nothing(
    client: httpx.AsyncClient, desk: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await create_request(client, patient__first_name="Ana")
    await a_request(client, desk, "Dora", ("decline", {"reason": "Not for this practice"}))
    assert first_names(await show(browser, status="all", q="Dora")) == {"Dora"}

    forged = await browser.post("/desk", data={"q": "Ana", "csrf_token": "guess"})
    assert forged.status_code == 403
    assert first_names(await browser.get("/desk")) == {"Dora"}

    cleared = await show(browser, clear="1", q="ignored", status="all")
    assert first_names(cleared) == {"Ana"}
    assert 'name="q" type="search" value=""' in cleared.text


async def test_paging_is_kept_too(
    client: httpx.AsyncClient, desk: dict[str, str], browser: httpx.AsyncClient
) -> None:
    for _ in range(26):
        await create_request(client)
    first = await browser.get("/desk")
    assert len(board_rows(first)) == 25
    assert "First page" not in first.text

    [cursor] = re.findall(r'name="cursor" value="([^"]+)"', first.text)
    second = await show(browser, cursor=cursor)
    assert len(board_rows(second)) == 1
    assert len(board_rows(await browser.get("/desk"))) == 1  # Back from a request: still page 2
    assert "Next page" not in second.text

    again = await show(browser)  # "First page" posts the filter without a cursor
    assert len(board_rows(again)) == 25
