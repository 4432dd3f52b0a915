"""/book without a browser: tap-to-call numbers."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.manage.service import mint_manage_token
from tests.factories import OPEN_DAY, appointment_request


def hidden(page: httpx.Response, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert match, f"no {name} in the page"
    return match.group(1)


def stamp_of(page: httpx.Response) -> dict[str, str]:
    """The hidden fields a browser sends back with the form."""
    return {name: hidden(page, name) for name in ("idempotency_key", "form_started")}


def filled(stamp: dict[str, str], **changes: Any) -> dict[str, Any]:
    """What a browser sends for a complete form; a change of None leaves that field out."""
    fields: dict[str, Any] = {
        "first_name": "Ana",
        "last_name": "Ruiz",
        "email": "ana.ruiz@example.com",
        "phone": "(312) 555-0142",
        "is_new_patient": "true",
        "reason_code": "back_pain",
        "date_1": OPEN_DAY,
        "part_1": "morning",
        "part_2": "any",
        "part_3": "any",
        "contact_preference": "email",
        "consent": "true",
        "website": "",
        **stamp,
        **changes,
    }
    return {name: value for name, value in fields.items() if value is not None}


# --- 3: numbers are tap-to-call ----------------------------------------------------------------


async def test_the_form_and_the_thank_you_page_make_numbers_tap_to_call(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    form = await client.get("/book")
    assert '<a href="tel:911">911</a>' in form.text

    clock.advance(dt.timedelta(seconds=10))
    thanks = await client.post(
        "/book", data=filled(stamp_of(form), urgent_symptoms="saddle_numbness")
    )
    assert "Your reference is" in thanks.text
    assert 'call <a href="tel:911">911</a>.' in thanks.text
    assert '<a href="tel:+13125550100">+1 312 555 0100</a>' in thanks.text


async def test_the_manage_pages_make_the_practice_phone_tap_to_call(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    created = await client.post("/api/v1/appointments", json=appointment_request())
    async with app.state.sessionmaker() as session, session.begin():
        token = await mint_manage_token(
            session, appointment_id=uuid.UUID(created.json()["id"]), now=clock.now(), days=30
        )
    link = '<a href="tel:+13125550100">+1 312 555 0100</a>'

    assert link in (await client.get(f"/manage/{token}")).text
    assert link in (await client.get(f"/manage/{token}/cancel")).text
    dead = await client.get("/manage/not-a-token-at-all-000000000000000000")
    assert dead.status_code == 404
    assert link in dead.text
