"""The link in a patient's email: view and cancel that one request, nothing else."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from booking.clock import FrozenClock
from booking.manage.models import ManageToken
from booking.notifications.relay import Relay
from tests.helpers import assert_problem, chicago, confirm, create_request
from tests.notifications.helpers import PATIENT, latest_token, only
from tests.notifications.smtp import SmtpServer


async def test_the_link_shows_the_request_and_a_get_changes_nothing(
    client: httpx.AsyncClient, desk: dict[str, str], relay: Relay, smtp_server: SmtpServer
) -> None:
    appointment_id = await create_request(client)
    token = await latest_token(relay, smtp_server)
    for _ in range(3):
        view = await client.get(f"/api/v1/manage/{token}")
        assert view.status_code == 200
    assert view.json()["status"] == "requested"
    assert view.json()["can_cancel"] is True
    assert "Ana" not in view.text
    detail = await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk)
    assert detail.json()["version"] == 1


async def test_the_patient_cancels_a_confirmed_visit_through_the_link(
    client: httpx.AsyncClient, desk: dict[str, str], relay: Relay, smtp_server: SmtpServer
) -> None:
    appointment_id = await create_request(client)
    await confirm(client, desk, appointment_id, start=chicago("2026-12-07", "09:30"))
    token = await latest_token(relay, smtp_server)

    cancelled = await client.post(f"/api/v1/manage/{token}/cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    events = (
        await client.get(f"/api/v1/appointments/{appointment_id}/events", headers=desk)
    ).json()
    assert events[-1]["source"] == "patient"
    assert events[-1]["actor_staff_id"] is None
    # Once the appointment has ended the link shows it read-only, and the patient is told.
    after = await client.get(f"/api/v1/manage/{token}")
    assert after.json()["status"] == "cancelled"
    assert after.json()["can_cancel"] is False
    await relay.drain()
    assert only(smtp_server.messages, PATIENT)[-1]["Subject"].endswith("is cancelled")


async def test_a_link_opens_only_its_own_appointment_and_only_a_stored_hash_exists(
    client: httpx.AsyncClient, app: FastAPI, relay: Relay, smtp_server: SmtpServer
) -> None:
    first = await create_request(client)
    token = await latest_token(relay, smtp_server)
    await create_request(client)
    view = await client.get(f"/api/v1/manage/{token}")
    async with app.state.sessionmaker() as session:
        stored = list((await session.execute(select(ManageToken))).scalars())
    assert all(token not in row.token_hash for row in stored)
    [mine] = [row for row in stored if str(row.appointment_id) == first]
    assert view.json()["reference"]
    assert mine.token_hash != token


async def test_unknown_tampered_and_expired_links_get_the_same_404(
    client: httpx.AsyncClient, relay: Relay, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    await create_request(client)
    token = await latest_token(relay, smtp_server)
    answers = [
        await client.get("/api/v1/manage/nonexistent-token-value-000000000000000000"),
        await client.get(f"/api/v1/manage/{token[:-1]}x"),
        await client.post(f"/api/v1/manage/{token[:-1]}x/cancel"),
    ]
    clock.advance(dt.timedelta(days=61))
    answers.append(await client.get(f"/api/v1/manage/{token}"))
    for answer in answers:
        assert assert_problem(answer, 404)["type"] == "/problems/manage-link-invalid"
