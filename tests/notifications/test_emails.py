"""What the emails say, checked by parsing what a real SMTP server received."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI

from booking.notifications.relay import Relay
from tests.factories import appointment_request
from tests.helpers import chicago, confirm, create_request
from tests.notifications.helpers import manage_token, only, outbox, parts
from tests.notifications.smtp import SmtpServer

PATIENT = "ana.ruiz@example.com"
SENTINEL = "Zq9HealthSentinel"


async def test_a_new_request_emails_the_patient_and_the_desk(
    client: httpx.AsyncClient, relay: Relay, smtp_server: SmtpServer
) -> None:
    response = await client.post("/api/v1/appointments", json=appointment_request())
    reference = response.json()["reference"]

    assert await relay.drain() == 2

    [patient] = only(smtp_server.messages, PATIENT)
    assert patient["Subject"] == f"We received your appointment request ({reference})"
    assert patient["From"] == "Spine Practice <booking@spine.example>"
    body = parts(patient)
    assert set(body) == {"text", "html"}  # no calendar while it is only a request
    assert "Hello Ana" in body["text"]
    assert reference in body["text"]
    assert "America/Chicago" in body["text"]
    assert "/manage/" in body["html"]
    assert len(manage_token(patient)) >= 40
    [desk] = only(smtp_server.messages, "desk@spine.example")
    assert desk["Subject"] == f"New appointment request {reference}"
    assert "https://book.spine.example/desk" in parts(desk)["text"]
    assert "/manage/" not in parts(desk)["text"]


async def test_each_email_has_a_message_id_fixed_by_its_outbox_row(
    client: httpx.AsyncClient, app: FastAPI, relay: Relay, smtp_server: SmtpServer
) -> None:
    await create_request(client)
    await relay.drain()
    ids = {str(row.id) for row in await outbox(app)}
    received = {message["Message-ID"].strip("<>").split("@")[0] for message in smtp_server.messages}
    assert received == ids


async def test_the_confirmation_carries_a_calendar_request_in_utc(
    client: httpx.AsyncClient, desk: dict[str, str], relay: Relay, smtp_server: SmtpServer
) -> None:
    appointment_id = await create_request(client)
    start, note = chicago("2026-12-07", "09:30"), "Bring your MRI <b>please</b>"
    await confirm(client, desk, appointment_id, start=start, message=note)
    await relay.drain()

    confirmation = only(smtp_server.messages, PATIENT)[-1]
    assert confirmation["Subject"] == "Your appointment at Spine Practice is confirmed"
    body = parts(confirmation)
    assert "Monday 7 December 2026, 9:30 AM CST" in body["text"]
    assert "America/Chicago" in body["text"]
    assert "Bring your MRI <b>please</b>" in body["text"]
    assert "Bring your MRI &lt;b&gt;please&lt;/b&gt;" in body["html"]  # autoescaped
    assert body["ics_method_param"] == "REQUEST"
    calendar = body["calendar"]
    assert str(calendar["method"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["uid"]) == f"{appointment_id}@booking"
    assert int(event["sequence"]) == 0
    assert event.decoded("dtstart") == dt.datetime(2026, 12, 7, 15, 30, tzinfo=dt.UTC)
    assert event.decoded("dtend") == dt.datetime(2026, 12, 7, 16, 0, tzinfo=dt.UTC)
    assert str(event["summary"]) == "Appointment at Spine Practice"


async def test_a_reschedule_keeps_the_uid_and_raises_the_sequence_and_a_cancel_cancels(
    client: httpx.AsyncClient, desk: dict[str, str], relay: Relay, smtp_server: SmtpServer
) -> None:
    appointment_id = await create_request(client)
    url = f"/api/v1/appointments/{appointment_id}"
    await client.post(
        f"{url}/confirm", json={"start": chicago("2026-12-07", "09:30")}, headers=desk
    )
    await client.post(
        f"{url}/reschedule", json={"start": chicago("2026-12-08", "13:00")}, headers=desk
    )
    await client.post(f"{url}/cancel", json={"reason": "Patient phoned"}, headers=desk)
    await relay.drain()

    received, confirmed, moved, cancelled = only(smtp_server.messages, PATIENT)
    assert "calendar" not in parts(received)
    events = [parts(message)["calendar"] for message in (confirmed, moved, cancelled)]
    vevents = [calendar.walk("VEVENT")[0] for calendar in events]
    assert {str(event["uid"]) for event in vevents} == {f"{appointment_id}@booking"}
    assert [int(event["sequence"]) for event in vevents] == [0, 1, 2]
    assert [str(calendar["method"]) for calendar in events] == ["REQUEST", "REQUEST", "CANCEL"]
    assert moved["Subject"] == "Your appointment at Spine Practice has moved"
    assert "Tuesday 8 December 2026, 1:00 PM CST" in parts(moved)["text"]
    assert str(vevents[2]["status"]) == "CANCELLED"
    assert "Patient phoned" not in parts(cancelled)["text"]  # the desk's reason stays inside


async def test_a_declined_request_and_a_cancelled_request_send_no_calendar(
    client: httpx.AsyncClient, desk: dict[str, str], relay: Relay, smtp_server: SmtpServer
) -> None:
    declined = await create_request(client)
    cancelled = await create_request(client)
    await client.post(
        f"/api/v1/appointments/{declined}/decline", json={"reason": "r"}, headers=desk
    )
    await client.post(
        f"/api/v1/appointments/{cancelled}/cancel", json={"reason": "r"}, headers=desk
    )
    await relay.drain()
    subjects = {message["Subject"]: message for message in only(smtp_server.messages, PATIENT)}
    assert "calendar" not in parts(subjects["About your appointment request at Spine Practice"])
    assert "calendar" not in parts(subjects["Your appointment at Spine Practice is cancelled"])


async def test_no_email_carries_the_reason_the_detail_or_a_symptom(
    client: httpx.AsyncClient, desk: dict[str, str], relay: Relay, smtp_server: SmtpServer
) -> None:
    body = appointment_request(
        reason_code="mood_related_pain",
        reason_detail=f"{SENTINEL} depression since spring",
        urgent_symptoms=["saddle_numbness", "bladder_or_bowel_changes"],
    )
    appointment_id = (await client.post("/api/v1/appointments", json=body)).json()["id"]
    url = f"/api/v1/appointments/{appointment_id}"
    await client.post(
        f"{url}/confirm", json={"start": chicago("2026-12-07", "10:00")}, headers=desk
    )
    await client.post(
        f"{url}/reschedule", json={"start": chicago("2026-12-07", "14:00")}, headers=desk
    )
    await client.post(f"{url}/cancel", json={"reason": f"{SENTINEL} reason"}, headers=desk)
    await relay.drain()

    assert len(smtp_server.inbox.raw) == 5
    forbidden = [
        SENTINEL,
        "mood_related_pain",
        "depression",
        "saddle",
        "bladder",
        "Pain together with depression",
        "urgent",
    ]
    for raw, message in zip(smtp_server.inbox.raw, smtp_server.messages, strict=True):
        text = raw.decode("utf-8", errors="replace").lower()
        # The desk's email marks a red-flag request URGENT (the word only); patients never see it.
        allowed = {"urgent"} if message["To"] == "desk@spine.example" else set()
        for word in forbidden:
            if word not in allowed:
                assert word.lower() not in text, word
