"""/book without a browser: the form stamp, the patient's words, tap-to-call numbers, caching."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from tests.factories import OPEN_DAY, appointment_request
from tests.helpers import manage_token, stored_appointments

SEND_AGAIN = "Please check your details and send again."
THANKS = "Thank you: we have your request"
SATURDAY = "2026-12-05"


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


def error_of(page: httpx.Response, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page.text)
    return html.unescape(match.group(1)) if match else None


async def opened_form(client: httpx.AsyncClient, clock: FrozenClock) -> dict[str, str]:
    """Open /book and let a person's few seconds pass."""
    page = await client.get("/book")
    clock.advance(dt.timedelta(seconds=10))
    return stamp_of(page)


# --- 1: the minimum fill time never throws a request away ------------------------------------


async def test_a_patient_who_fixes_an_error_and_sends_at_once_is_stored(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    page = await client.get("/book")
    clock.advance(dt.timedelta(seconds=4))
    without_consent = await client.post("/book", data=filled(stamp_of(page), consent=None))
    assert without_consent.status_code == 422
    assert error_of(without_consent, "consent")

    # No time passes: the stamp still counts from the first time the form was shown.
    sent = await client.post("/book", data=filled(stamp_of(without_consent)))

    assert sent.status_code == 200, sent.text
    assert "Your reference is" in sent.text
    assert len(await stored_appointments(app)) == 1


async def test_a_form_sent_too_fast_comes_back_and_its_stamp_keeps_counting(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    page = await client.get("/book")
    too_fast = await client.post("/book", data=filled(stamp_of(page)))

    assert too_fast.status_code == 422
    assert SEND_AGAIN in too_fast.text
    assert THANKS not in too_fast.text
    assert 'value="Ana"' in too_fast.text
    assert stamp_of(too_fast) == stamp_of(page)
    assert await stored_appointments(app) == []

    clock.advance(dt.timedelta(seconds=3))
    sent = await client.post("/book", data=filled(stamp_of(too_fast)))
    assert "Your reference is" in sent.text
    assert len(await stored_appointments(app)) == 1


def _forged(stamp: dict[str, str]) -> dict[str, str]:
    shown_at, _, signature = stamp["form_started"].partition(".")
    return {**stamp, "form_started": f"{int(shown_at) - 60}.{signature}"}


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda stamp: {**stamp, "form_started": ""}, id="missing"),
        pytest.param(_forged, id="forged"),
        pytest.param(lambda stamp: {**stamp, "idempotency_key": str(uuid.uuid4())}, id="other-key"),
    ],
)
async def test_a_bad_stamp_gets_the_form_back_never_a_thank_you(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock, spoil: Any
) -> None:
    stamp = await opened_form(client, clock)

    answer = await client.post("/book", data=filled(spoil(stamp)))

    assert answer.status_code == 422
    assert SEND_AGAIN in answer.text
    assert THANKS not in answer.text
    assert await stored_appointments(app) == []
    clock.advance(dt.timedelta(seconds=10))
    resent = await client.post("/book", data=filled(stamp_of(answer)))
    assert "Your reference is" in resent.text


async def test_a_stamp_older_than_its_idempotency_key_gets_the_form_back(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    stamp = await opened_form(client, clock)
    clock.advance(dt.timedelta(hours=app.state.settings.idempotency_key_ttl_hours, seconds=1))

    answer = await client.post("/book", data=filled(stamp))

    assert answer.status_code == 422
    assert SEND_AGAIN in answer.text
    assert stamp_of(answer) != stamp
    assert await stored_appointments(app) == []


async def test_only_the_honeypot_earns_a_silent_thank_you(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    stamp = await opened_form(client, clock)
    answer = await client.post("/book", data=filled(stamp, website="https://spam.example"))
    assert answer.status_code == 200
    assert THANKS in answer.text
    assert "Your reference is" not in answer.text
    assert await stored_appointments(app) == []


async def test_a_stamp_stores_one_request_and_replays_it_for_a_double_click(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    stamp = await opened_form(client, clock)
    first = await client.post("/book", data=filled(stamp))
    double_click = await client.post("/book", data=filled(stamp))
    other = await client.post("/book", data=filled(stamp, first_name="Berta"))

    assert hidden_reference(first) == hidden_reference(double_click)
    assert other.status_code == 422
    assert "We already have the request sent with this form" in other.text
    assert 'value="Berta"' in other.text
    assert stamp_of(other)["idempotency_key"] != stamp["idempotency_key"]
    assert [a.first_name for a in await stored_appointments(app)] == ["Ana"]


def hidden_reference(page: httpx.Response) -> str:
    match = re.search(r'<strong id="reference">([^<]+)</strong>', page.text)
    assert match, page.text
    return match.group(1)


# --- 2: errors a patient can read, each next to its own field ---------------------------------


async def test_each_day_error_sits_next_to_its_own_day(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    stamp = await opened_form(client, clock)
    page = await client.post(
        "/book",
        data=filled(stamp, date_1="", date_2=SATURDAY, date_3=OPEN_DAY, part_3="night"),
    )

    assert page.status_code == 422
    assert error_of(page, "date_1") is None
    assert error_of(page, "date_2") == "The practice is closed on Saturdays; choose another day."
    assert error_of(page, "part_3") == "Choose morning, afternoon or any time."
    assert 'id="part_3" name="part_3" aria-invalid="true" aria-describedby="part_3-error"' in (
        page.text
    )


async def test_the_error_summary_lists_every_error_as_a_link_to_its_field(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    stamp = await opened_form(client, clock)
    page = await client.post("/book", data={**stamp, "contact_preference": "email"})

    assert page.status_code == 422
    links = re.findall(r'<li><a href="#([a-z_0-9]+)">([^<]*)</a></li>', page.text)
    assert [target for target, _ in links] == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "reason_code",
        "date_1",
        "consent",
    ]
    assert ("first_name", "Please enter your first name.") in links
    assert ("date_1", "Choose at least one day.") in links
    for target, _ in links:
        assert f'id="{target}"' in page.text
    assert '<script src="/static/book.js" defer></script>' in page.text
    script = await client.get("/static/book.js")
    assert script.status_code == 200
    assert 'getElementById("error-summary")' in script.text


async def test_the_form_and_the_api_say_the_same_words(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    stamp = await opened_form(client, clock)
    page = await client.post(
        "/book", data=filled(stamp, email="not-an-email", reason_code="other", date_1=SATURDAY)
    )
    api = await client.post(
        "/api/v1/appointments",
        json=appointment_request(
            patient__email="not-an-email",
            reason_code="other",
            preferred_windows=[{"date": SATURDAY, "part_of_day": "any"}],
        ),
    )

    said = {error["field"]: error["message"] for error in api.json()["errors"]}
    assert said == {
        "patient.email": "Enter an email address like name@example.com.",
        "reason_detail": "Tell us briefly what the visit is about.",
        "preferred_windows.0.date": "The practice is closed on Saturdays; choose another day.",
    }
    assert error_of(page, "email") == said["patient.email"]
    assert error_of(page, "reason_detail") == said["reason_detail"]
    assert error_of(page, "date_1") == said["preferred_windows.0.date"]


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
    token = await manage_token(app, created.json()["id"])
    link = '<a href="tel:+13125550100">+1 312 555 0100</a>'

    assert link in (await client.get(f"/manage/{token}")).text
    assert link in (await client.get(f"/manage/{token}/cancel")).text
    dead = await client.get("/manage/not-a-token-at-all-000000000000000000")
    assert dead.status_code == 404
    assert link in dead.text


# --- 14: what the patient typed, or their reference, is never cached ---------------------------


async def test_form_pages_with_what_was_typed_are_never_cached(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    stamp = await opened_form(client, clock)
    with_errors = await client.post("/book", data=filled(stamp, email="nope"))
    thanks = await client.post("/book", data=filled(stamp))
    replayed = await client.post("/book", data=filled(stamp))

    assert with_errors.status_code == 422
    assert replayed.headers.get("idempotent-replayed") == "true"
    for page in (with_errors, thanks, replayed):
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
