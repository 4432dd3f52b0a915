"""The detail page's suggested times: the availability service's own, each a one-click form
posting to the same confirm (or move) action as the free-typed form."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.availability.helpers import request_monday_afternoon_or_wednesday_morning
from tests.helpers import chicago, create_request
from tests.web.test_desk_sessions import desk_client, signed_in_cookie

MONDAY, WEDNESDAY = "2026-12-07", "2026-12-09"


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with desk_client(app) as client:
        yield client


def suggestion_forms(page: httpx.Response) -> list[dict[str, str]]:
    """Each one-click form of the page: its action and its fields."""
    forms = []
    for action, body in re.findall(
        r'<li><form method="post" action="([^"]+)">(.*?)</form></li>', page.text, re.S
    ):
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body))
        label = re.search(r'<button type="submit" class="suggestion">([^<]+)</button>', body)
        assert label, body
        forms.append({"action": action, "label": html.unescape(label.group(1)), **fields})
    return forms


async def service_suggestions(
    client: httpx.AsyncClient, headers: dict[str, str], appointment_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/appointments/{appointment_id}/suggestions",
        params={"limit": 6},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    slots: list[dict[str, Any]] = response.json()["slots"]
    return slots


async def click(browser: httpx.AsyncClient, form: dict[str, str]) -> httpx.Response:
    fields = {name: value for name, value in form.items() if name not in {"action", "label"}}
    return await browser.post(form["action"], data=fields)


async def test_the_page_lists_the_services_suggestions_in_the_practices_time(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await request_monday_afternoon_or_wednesday_morning(client)
    await signed_in_cookie(browser)
    page = await browser.get(f"/desk/appointments/{appointment_id}")
    assert page.status_code == 200
    forms = suggestion_forms(page)
    expected = await service_suggestions(client, desk, appointment_id)
    assert [(f["date"], f["time"]) for f in forms] == [
        (slot["start"][:10], slot["start"][11:16]) for slot in expected
    ]
    assert {f["duration_minutes"] for f in forms} == {"45"}
    assert {f["provider_id"] for f in forms} == {str(DEFAULT_PROVIDER_ID)}
    assert {f["action"] for f in forms} == {f"/desk/appointments/{appointment_id}/confirm"}
    assert forms[0]["label"] == "Confirm: Mon 7 Dec, 12:00 PM CST"
    assert "Mon 7 Dec, afternoon" in page.text
    assert "Wed 9 Dec, morning" in page.text
    # One provider: the label does not name it; the free-typed form is still there.
    assert 'id="confirm-date"' in page.text


async def test_one_click_confirms_exactly_that_slot(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(
        client, preferred_windows=[{"date": WEDNESDAY, "part_of_day": "afternoon"}]
    )
    await signed_in_cookie(browser)
    forms = suggestion_forms(await browser.get(f"/desk/appointments/{appointment_id}"))
    chosen = forms[2]
    response = await click(browser, chosen)
    assert response.status_code == 303, response.text
    booked = (await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)).json()
    assert booked["status"] == "confirmed"
    assert booked["start"] == chicago(chosen["date"], chosen["time"])
    assert booked["duration_minutes"] == int(chosen["duration_minutes"])
    assert booked["provider_id"] == chosen["provider_id"]

    # Confirmed: the page now suggests times to move it to, posted to Move.
    page = await browser.get(f"/desk/appointments/{appointment_id}")
    moves = suggestion_forms(page)
    assert moves
    assert {f["action"] for f in moves} == {f"/desk/appointments/{appointment_id}/reschedule"}
    moved = await click(browser, moves[0])
    assert moved.status_code == 303, moved.text
    after = (await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)).json()
    assert after["start"] == chicago(moves[0]["date"], moves[0]["time"])


async def test_a_suggestion_taken_meanwhile_shows_the_409_and_books_nothing(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    window = [{"date": MONDAY, "part_of_day": "morning"}]
    appointment_id = await create_request(client, preferred_windows=window)
    other_id = await create_request(client, preferred_windows=window)
    await signed_in_cookie(browser)
    first = suggestion_forms(await browser.get(f"/desk/appointments/{appointment_id}"))[0]
    # Another clerk books the other request at that very time.
    taken = await client.post(
        f"/api/v1/appointments/{other_id}/confirm",
        json={"start": chicago(first["date"], first["time"])},
        headers=desk,
    )
    assert taken.status_code == 200, taken.text

    response = await click(browser, first)
    assert response.status_code == 409
    named = f"overlaps Monday 7 December 2026, {first['time']}-"
    assert named in html.unescape(response.text)
    stored = (await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)).json()
    assert stored["status"] == "requested"
    assert stored["start"] is None
    # The page shown with the refusal no longer suggests the taken time.
    assert (first["date"], first["time"]) not in [
        (f["date"], f["time"]) for f in suggestion_forms(response)
    ]


async def test_a_closed_request_has_no_suggestions(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    declined = await client.post(
        f"/api/v1/appointments/{appointment_id}/decline", json={"reason": "Full"}, headers=desk
    )
    assert declined.status_code == 200, declined.text
    await signed_in_cookie(browser)
    page = await browser.get(f"/desk/appointments/{appointment_id}")
    assert page.status_code == 200
    assert suggestion_forms(page) == []
    assert "Suggested times" not in page.text


async def test_with_several_providers_each_suggestion_names_its_provider(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    desk: dict[str, str],
    second_provider: str,
) -> None:
    window = [{"date": MONDAY, "part_of_day": "morning"}]
    # The first provider is busy at 08:00: the 08:00 suggestion is the second provider's.
    busy = await create_request(client, preferred_windows=window)
    taken = await client.post(
        f"/api/v1/appointments/{busy}/confirm",
        json={"start": chicago(MONDAY, "08:00"), "provider_id": str(DEFAULT_PROVIDER_ID)},
        headers=desk,
    )
    assert taken.status_code == 200, taken.text
    appointment_id = await create_request(client, preferred_windows=window)
    await signed_in_cookie(browser)
    forms = suggestion_forms(await browser.get(f"/desk/appointments/{appointment_id}"))
    assert forms[0]["label"] == "Confirm: Mon 7 Dec, 8:00 AM CST · Dr Second"
    assert forms[0]["provider_id"] == second_provider
    response = await click(browser, forms[0])
    assert response.status_code == 303, response.text
    booked = (await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)).json()
    assert booked["provider_id"] == second_provider
    assert booked["start"] == chicago(MONDAY, "08:00")
