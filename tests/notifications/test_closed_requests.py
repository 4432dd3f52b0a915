"""A closed request's link shows it read-only: no email carries a dead link (issue 10, item 4)."""

from __future__ import annotations

import datetime as dt

import httpx

from booking.clock import FrozenClock
from booking.notifications.relay import Relay
from tests.helpers import assert_problem, chicago, confirm, create_request
from tests.notifications.helpers import PATIENT, latest_token, manage_token, only, parts
from tests.notifications.smtp import SmtpServer


async def assert_read_only(client: httpx.AsyncClient, token: str, status: str) -> None:
    view = await client.get(f"/api/v1/manage/{token}")
    assert view.status_code == 200, view.text
    assert view.json()["status"] == status
    assert view.json()["can_cancel"] is False
    assert view.json()["practice_phone"] == "+1 312 555 0100"
    page = await client.get(f"/manage/{token}")
    assert page.status_code == 200
    assert "+1 312 555 0100" in page.text
    assert 'href="/book"' in page.text  # how to book again
    assert f"/manage/{token}/cancel" not in page.text
    confirmation = await client.get(f"/manage/{token}/cancel")
    assert "Yes, cancel it" not in confirmation.text
    assert_problem(await client.post(f"/api/v1/manage/{token}/cancel"), 409)
    assert (await client.post(f"/manage/{token}/cancel")).status_code == 409


async def test_the_declined_email_links_to_the_request_shown_read_only(
    client: httpx.AsyncClient, desk: dict[str, str], relay: Relay, smtp_server: SmtpServer
) -> None:
    appointment_id = await create_request(client)
    received_token = await latest_token(relay, smtp_server)
    declined = await client.post(
        f"/api/v1/appointments/{appointment_id}/decline",
        json={"reason": "Outside our scope"},
        headers=desk,
    )
    assert declined.status_code == 200

    await relay.drain()
    email = only(smtp_server.messages, PATIENT)[-1]
    body = parts(email)
    assert "See your appointment request: https://book.spine.example/manage/" in body["text"]
    assert "cancel your appointment" not in body["text"]
    assert "See your appointment request</a>" in body["html"]
    await assert_read_only(client, manage_token(email), "declined")
    # The link from the first email tells the same story, instead of going dead.
    await assert_read_only(client, received_token, "declined")


async def test_the_cancelled_email_links_to_the_request_shown_read_only(
    client: httpx.AsyncClient, desk: dict[str, str], relay: Relay, smtp_server: SmtpServer
) -> None:
    appointment_id = await create_request(client)
    await client.post(
        f"/api/v1/appointments/{appointment_id}/cancel", json={"reason": "x"}, headers=desk
    )
    token = await latest_token(relay, smtp_server)
    assert "See your appointment request:" in parts(only(smtp_server.messages, PATIENT)[-1])["text"]
    await assert_read_only(client, token, "cancelled")


async def test_a_completed_or_past_visit_is_shown_read_only_and_cannot_be_cancelled(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    relay: Relay,
    smtp_server: SmtpServer,
    clock: FrozenClock,
) -> None:
    appointment_id = await create_request(client)
    await confirm(client, desk, appointment_id, start=chicago("2026-12-07", "09:30"))
    token = await latest_token(relay, smtp_server)
    clock.advance(dt.timedelta(days=8))
    # The visit is over but not marked yet: the link no longer cancels it.
    await assert_read_only(client, token, "confirmed")
    completed = await client.post(f"/api/v1/appointments/{appointment_id}/complete", headers=desk)
    assert completed.status_code == 200
    await assert_read_only(client, token, "completed")


async def test_an_expired_link_is_still_a_404(
    client: httpx.AsyncClient, relay: Relay, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    await create_request(client)
    token = await latest_token(relay, smtp_server)
    clock.advance(dt.timedelta(days=61))
    assert_problem(await client.get(f"/api/v1/manage/{token}"), 404)
    assert (await client.get(f"/manage/{token}")).status_code == 404
