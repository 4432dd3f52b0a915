"""POST /api/v1/appointments: what a valid request stores and answers."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.appointments import service
from booking.appointments.models import Appointment
from tests.factories import appointment_request
from tests.helpers import stored_appointments

REFERENCE = re.compile(r"^[2346789ABCDEFGHJKMNPQRTVWXYZ]{4}-[2346789ABCDEFGHJKMNPQRTVWXYZ]{4}$")


async def stored_after_posting(
    client: httpx.AsyncClient, app: FastAPI, **changes: Any
) -> Appointment:
    """POST a valid request with these changes: it must be accepted (201) and be the one row
    stored."""
    response = await client.post("/api/v1/appointments", json=appointment_request(**changes))
    assert response.status_code == 201, response.text
    [appointment] = await stored_appointments(app)
    return appointment


async def test_a_valid_request_is_stored_and_answered_with_201(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await client.post("/api/v1/appointments", json=appointment_request())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "requested"
    assert REFERENCE.match(body["reference"])
    assert body["urgent"] is False
    assert body["advisory"] is None
    assert response.headers["location"] == f"/api/v1/appointments/{body['id']}"
    [stored] = await stored_appointments(app)
    assert stored.id == uuid.UUID(body["id"])
    assert stored.reference == body["reference"]
    assert stored.phone == "+13125550142"
    assert stored.email == "ana.ruiz@example.com"
    assert stored.preferred_windows == [{"date": "2026-12-07", "part_of_day": "morning"}]
    assert stored.created_at.tzinfo is not None


async def test_the_response_carries_only_ids_and_status_not_patient_details(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/appointments", json=appointment_request())
    assert set(response.json()) == {"id", "reference", "status", "urgent", "advisory", "created_at"}
    # The phone as a whole number: "555" alone also turns up in a random id now and then.
    for detail in ("Ana", "Ruiz", "ana.ruiz", "5550142", "back_pain"):
        assert detail not in response.text


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("(312) 555-0142", "+13125550142"),
        ("312.555.0142", "+13125550142"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 901820", "+4930901820"),
    ],
)
async def test_phone_numbers_are_stored_as_e164(
    client: httpx.AsyncClient, app: FastAPI, written: str, stored: str
) -> None:
    appointment = await stored_after_posting(client, app, patient__phone=written)
    assert appointment.phone == stored


async def test_names_are_trimmed_and_unicode_is_kept_exactly(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    appointment = await stored_after_posting(
        client,
        app,
        patient__first_name="  Zoë ",
        patient__last_name="עִבְרִית الصفدي",
        reason_code="other",
        reason_detail="  Pain since\nMonday\t(after lifting)  ",
    )
    assert appointment.first_name == "Zoë"
    assert appointment.last_name == "עִבְרִית الصفدي"
    assert appointment.reason_detail == "Pain since\nMonday\t(after lifting)"


async def test_sql_and_html_are_stored_as_plain_text(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    hostile = "Robert'); DROP TABLE appointments;-- <script>alert(1)</script>"
    appointment = await stored_after_posting(
        client, app, reason_code="other", reason_detail=hostile
    )
    assert appointment.reason_detail == hostile


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        ("Siobhán", "O'Brien"),
        ("José-María", "García Márquez"),
        ("李", "小龍"),
        ("Thị", "Nguyễn"),
        ("J. R. R.", "Tolkien"),
        ("Ngozi", "Okonjo\u2019Iweala"),
    ],
)
async def test_names_from_any_script_with_hyphens_apostrophes_and_periods_are_accepted(
    client: httpx.AsyncClient, app: FastAPI, first_name: str, last_name: str
) -> None:
    appointment = await stored_after_posting(
        client, app, patient__first_name=first_name, patient__last_name=last_name
    )
    assert (appointment.first_name, appointment.last_name) == (first_name, last_name)


async def test_urgent_symptoms_flag_the_request_and_advise_emergency_care(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await client.post(
        "/api/v1/appointments",
        json=appointment_request(urgent_symptoms=["saddle_numbness", "saddle_numbness"]),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["urgent"] is True
    assert "emergency" in body["advisory"]
    assert "911" in body["advisory"]
    [appointment] = await stored_appointments(app)
    assert appointment.is_urgent is True
    assert appointment.urgent_symptoms == ["saddle_numbness"]


async def test_mood_related_pain_gets_an_advisory_naming_a_crisis_line(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/appointments", json=appointment_request(reason_code="mood_related_pain")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["urgent"] is False
    assert "988" in body["advisory"]
    assert "Crisis Lifeline" in body["advisory"]


async def test_other_with_a_detail_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/appointments",
        json=appointment_request(reason_code="other", reason_detail="Hip pain"),
    )
    assert response.status_code == 201, response.text


async def test_today_in_the_practice_time_zone_can_be_asked_for(
    client: httpx.AsyncClient, clock: object
) -> None:
    # At 03:00 UTC on 1 December it is still 30 November in Chicago.
    import datetime as dt

    from booking.clock import FrozenClock

    assert isinstance(clock, FrozenClock)
    clock.advance(dt.timedelta(hours=12))  # 2026-12-01T03:00Z
    response = await client.post(
        "/api/v1/appointments",
        json=appointment_request(preferred_windows=[{"date": "2026-11-30", "part_of_day": "any"}]),
    )
    assert response.status_code == 201, response.text


async def test_three_windows_on_open_days_are_accepted(client: httpx.AsyncClient) -> None:
    windows = [
        {"date": "2026-12-07", "part_of_day": "morning"},
        {"date": "2026-12-07", "part_of_day": "afternoon"},
        {"date": "2027-02-26", "part_of_day": "any"},
    ]
    response = await client.post(
        "/api/v1/appointments", json=appointment_request(preferred_windows=windows)
    )
    assert response.status_code == 201, response.text


async def test_a_reference_clash_draws_a_new_reference(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = iter(["AAAA-BBBB", "AAAA-BBBB", "CCCC-DDDD"])
    monkeypatch.setattr(service, "new_reference", lambda: next(drawn))

    first = await client.post("/api/v1/appointments", json=appointment_request())
    second = await client.post("/api/v1/appointments", json=appointment_request())

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert first.json()["reference"] == "AAAA-BBBB"
    assert second.json()["reference"] == "CCCC-DDDD"
    assert len(await stored_appointments(app)) == 2


async def test_reason_codes_are_listed_with_labels_and_durations(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/reason-codes")
    assert response.status_code == 200
    codes = {item["code"]: item for item in response.json()}
    assert set(codes) == {
        "back_pain",
        "neck_pain",
        "sciatica",
        "mood_related_pain",
        "post_surgery_follow_up",
        "second_opinion",
        "other",
    }
    assert codes["mood_related_pain"]["label"] == "Pain together with depression, anxiety or stress"
    assert all(item["default_duration_minutes"] > 0 for item in codes.values())
    assert all(
        set(item) == {"code", "label", "description", "default_duration_minutes"}
        for item in codes.values()
    )
