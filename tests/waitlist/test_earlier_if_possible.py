"""``earlier_if_possible``: on the API, on the hosted form, and through the patient's link."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI

from booking.clock import FrozenClock
from tests.factories import appointment_request
from tests.helpers import create_request, error_fields, manage_token, stored_appointments
from tests.web.test_book import filled, stamp_of


async def test_the_api_stores_it_and_the_desk_reads_it(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    plain = await create_request(client)
    keen = await create_request(client, earlier_if_possible=True)
    for appointment_id, expected in ((plain, False), (keen, True)):
        detail = await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)
        assert detail.json()["earlier_if_possible"] is expected
    listed = (await client.get("/api/v1/appointments", headers=desk)).json()["items"]
    assert {item["id"]: item["earlier_if_possible"] for item in listed} == {
        plain: False,
        keen: True,
    }


async def test_it_must_be_a_boolean(client: httpx.AsyncClient) -> None:
    for value in ("yes", 1, None, [True]):
        response = await client.post(
            "/api/v1/appointments", json=appointment_request(earlier_if_possible=value)
        )
        assert error_fields(response) == {"earlier_if_possible"}
        assert "yes" not in response.text


async def test_the_patient_turns_it_on_and_off_on_their_page(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    appointment_id = await create_request(client)
    token = await manage_token(app, appointment_id)
    page = await client.get(f"/manage/{token}")
    assert "Offer me an earlier time if one opens" in page.text
    assert 'id="earlier_if_possible" name="earlier_if_possible" value="true" >' in page.text

    turned_on = await client.post(f"/manage/{token}/earlier", data={"earlier_if_possible": "true"})
    assert turned_on.status_code == 200
    assert "We will email you if an earlier time opens." in turned_on.text
    assert (await client.get(f"/api/v1/manage/{token}")).json()["earlier_if_possible"] is True

    turned_off = await client.post(f"/manage/{token}/earlier", data={})
    assert turned_off.status_code == 200
    assert [a.earlier_if_possible for a in await stored_appointments(app)] == [False]


async def test_a_closed_request_cannot_join_the_waitlist(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    token = await manage_token(app, appointment_id)
    await client.post(
        f"/api/v1/appointments/{appointment_id}/decline", json={"reason": "x"}, headers=desk
    )
    refused = await client.post(f"/manage/{token}/earlier", data={"earlier_if_possible": "true"})
    assert refused.status_code == 409
    assert [a.earlier_if_possible for a in await stored_appointments(app)] == [False]
    gone = await client.post("/manage/not-a-token/earlier", data={"earlier_if_possible": "true"})
    assert gone.status_code == 404


async def test_the_hosted_form_has_the_checkbox_and_stores_it(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    page = await client.get("/book")
    assert "Offer me an earlier time if one opens" in page.text
    clock.advance(dt.timedelta(seconds=10))
    stamp = stamp_of(page)
    sent = await client.post("/book", data=filled(stamp, earlier_if_possible="true"))
    assert sent.status_code == 200, sent.text
    page = await client.get("/book")
    clock.advance(dt.timedelta(seconds=10))
    plain = await client.post("/book", data=filled(stamp_of(page), email="other@example.com"))
    assert plain.status_code == 200, plain.text
    stored = {a.email: a.earlier_if_possible for a in await stored_appointments(app)}
    assert stored == {"ana.ruiz@example.com": True, "other@example.com": False}


async def test_the_desk_copy_is_not_stale_after_the_patient_turns_it_on(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    token = await manage_token(app, appointment_id)
    read = await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)

    turned_on = await client.post(f"/manage/{token}/earlier", data={"earlier_if_possible": "true"})
    assert turned_on.status_code == 200

    again = await client.get(
        f"/api/v1/appointments/{appointment_id}",
        headers={**desk, "If-None-Match": read.headers["ETag"]},
    )
    assert again.status_code == 200, again.text
    assert again.json()["earlier_if_possible"] is True
