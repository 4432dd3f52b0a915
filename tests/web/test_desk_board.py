"""The desk's board (/desk) over plain HTTP: what each row shows, which requests are listed,
and how filters travel (never in a URL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import create_request
from tests.web.test_desk_sessions import desk_client, signed_in_cookie


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
