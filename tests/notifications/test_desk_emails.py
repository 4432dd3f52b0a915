"""What the front desk is emailed: new requests (urgent ones marked) and a patient's cancel
(issue 10, item 5). Reference only in subjects: no name, no symptom, no reason."""

from __future__ import annotations

from email.message import EmailMessage

import httpx
from fastapi import FastAPI

from booking.notifications.relay import Relay
from tests.factories import appointment_request
from tests.helpers import chicago, confirm, create_request
from tests.notifications.helpers import manage_token, only, outbox, parts
from tests.notifications.smtp import SmtpServer

PATIENT = "ana.ruiz@example.com"
DESK = "desk@spine.example"


def assert_nothing_personal(message: EmailMessage, *extra: str) -> None:
    text = "\n".join([str(message["Subject"]), *parts(message).values()])
    for secret in ("Ana", "Ruiz", PATIENT, "back_pain", "Back pain", "saddle", *extra):
        assert secret not in text, f"{secret!r} is in a desk email"


async def test_a_patient_cancel_emails_the_desk_with_the_reference_only(
    client: httpx.AsyncClient,
    app: FastAPI,
    desk: dict[str, str],
    relay: Relay,
    smtp_server: SmtpServer,
) -> None:
    created = await client.post("/api/v1/appointments", json=appointment_request())
    reference = created.json()["reference"]
    appointment_id = created.json()["id"]
    await confirm(client, desk, appointment_id, start=chicago("2026-12-07", "09:30"))
    await relay.drain()
    token = manage_token(only(smtp_server.messages, PATIENT)[-1])

    cancelled = await client.post(f"/api/v1/manage/{token}/cancel")
    assert cancelled.status_code == 200
    await relay.drain()

    [_, told] = only(smtp_server.messages, DESK)
    assert told["Subject"] == f"Cancelled by the patient: appointment {reference}"
    body = parts(told)
    assert set(body) == {"text", "html"}
    for part in (body["text"], body["html"]):
        assert reference in part
        assert "Monday 7 December 2026, 9:30 AM CST" in part  # the time that is free again
        assert f"https://book.spine.example/desk/appointments/{appointment_id}" in part
        assert "/manage/" not in part
    assert_nothing_personal(told, "Cancelled by the patient through the link")  # audit reason
    # The patient's cancel is a version of its own: nothing collides in the outbox.
    rows = [row for row in await outbox(app) if row.channel == "desk_email"]
    assert sorted((row.appointment_version, row.event) for row in rows) == [
        (1, "new_request"),
        (3, "patient_cancelled"),
    ]


async def test_the_web_page_cancel_tells_the_desk_too(
    client: httpx.AsyncClient, relay: Relay, smtp_server: SmtpServer
) -> None:
    await create_request(client)
    await relay.drain()
    token = manage_token(only(smtp_server.messages, PATIENT)[-1])
    page = await client.post(f"/manage/{token}/cancel")
    assert "The practice has been told" in page.text
    await relay.drain()
    assert only(smtp_server.messages, DESK)[-1]["Subject"].startswith("Cancelled by the patient")


async def test_a_cancel_by_the_desk_does_not_email_the_desk(
    client: httpx.AsyncClient, desk: dict[str, str], relay: Relay, smtp_server: SmtpServer
) -> None:
    created = (await client.post("/api/v1/appointments", json=appointment_request())).json()
    await client.post(
        f"/api/v1/appointments/{created['id']}/cancel", json={"reason": "x"}, headers=desk
    )
    await relay.drain()
    subjects = [message["Subject"] for message in only(smtp_server.messages, DESK)]
    assert subjects == [f"New appointment request {created['reference']}"]


async def test_an_urgent_request_is_marked_urgent_in_the_desk_email(
    client: httpx.AsyncClient, relay: Relay, smtp_server: SmtpServer
) -> None:
    body = appointment_request(urgent_symptoms=["saddle_numbness", "bladder_or_bowel_changes"])
    reference = (await client.post("/api/v1/appointments", json=body)).json()["reference"]
    await relay.drain()

    [desk] = only(smtp_server.messages, DESK)
    assert desk["Subject"] == f"URGENT: new appointment request {reference}"
    parts_ = parts(desk)
    assert parts_["text"].splitlines()[2].startswith("URGENT:")  # the first thing read
    assert "URGENT:" in parts_["html"]
    assert_nothing_personal(desk, "bladder", "Bladder", "numb", "Numb")
    # The patient's own email is unchanged, and webhooks never learn of urgency.
    [patient] = only(smtp_server.messages, PATIENT)
    assert "URGENT" not in patient["Subject"]
