"""Hostile and careless input: each gets a 4xx problem naming the field, nothing is stored, and
nothing the client sent is echoed back."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import appointment_request, without
from tests.helpers import assert_problem, error_fields, stored_appointments

SENTINEL = "Zq9Sentinel"


def one_window(date: str, part_of_day: str = "any") -> dict[str, Any]:
    """A valid request but for its one preferred window."""
    return appointment_request(preferred_windows=[{"date": date, "part_of_day": part_of_day}])


def bad_patient(name: str, field: str, value: Any) -> tuple[str, dict[str, Any], set[str]]:
    """A case where one patient field is wrong: the 422 must name that very field."""
    return name, appointment_request(**{f"patient__{field}": value}), {f"patient.{field}"}


CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    bad_patient("empty first name", "first_name", "   "),
    bad_patient("long last name", "last_name", "x" * 51),
    bad_patient(
        "link as name", "first_name", "your card was declined - pay at https://evil.example/pay"
    ),
    bad_patient("short link as name", "first_name", "pay at evil.example"),
    bad_patient("www in name", "last_name", "www.evil"),
    bad_patient("address as name", "last_name", "ana@evil"),
    bad_patient("scheme in name", "first_name", "https://x"),
    bad_patient("digits in name", "first_name", "Ana 0800"),
    bad_patient("number as name", "first_name", 42),
    bad_patient("control character", "first_name", f"{SENTINEL}\x00"),
    bad_patient("bidi override", "last_name", f"{SENTINEL}\u202e"),
    bad_patient("line separator", "first_name", f"{SENTINEL}\u2028x"),
    bad_patient("lone surrogate", "last_name", f"{SENTINEL}\ud800"),
    bad_patient("bad email", "email", f"{SENTINEL}@@x"),
    bad_patient("email without domain", "email", f"{SENTINEL}@"),
    bad_patient("bad phone", "phone", "555-01"),
    bad_patient("letters as phone", "phone", SENTINEL),
    bad_patient("string boolean", "is_new_patient", "yes"),
    bad_patient("birth in the future", "date_of_birth", "2030-01-01"),
    ("unknown reason", appointment_request(reason_code=SENTINEL), {"reason_code"}),
    ("other without detail", appointment_request(reason_code="other"), {"reason_detail"}),
    (
        "other with blank detail",
        appointment_request(reason_code="other", reason_detail="  "),
        {"reason_detail"},
    ),
    ("detail too long", appointment_request(reason_detail="x" * 2001), {"reason_detail"}),
    ("no windows", appointment_request(preferred_windows=[]), {"preferred_windows"}),
    (
        "four windows",
        appointment_request(
            preferred_windows=[
                {"date": day, "part_of_day": "any"}
                for day in ("2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10")
            ]
        ),
        {"preferred_windows"},
    ),
    (
        "duplicate windows",
        appointment_request(
            preferred_windows=[{"date": "2026-12-07", "part_of_day": "morning"}] * 2
        ),
        {"preferred_windows"},
    ),
    ("past date", one_window("2026-11-27"), {"preferred_windows.0.date"}),
    ("saturday", one_window("2026-12-05"), {"preferred_windows.0.date"}),
    ("closed holiday", one_window("2026-12-25"), {"preferred_windows.0.date"}),
    ("two years ahead", one_window("2028-11-30"), {"preferred_windows.0.date"}),
    ("not a date", one_window(SENTINEL), {"preferred_windows.0.date"}),
    ("unknown part of day", one_window("2026-12-07", "night"), {"preferred_windows.0.part_of_day"}),
    ("unknown contact", appointment_request(contact_preference="fax"), {"contact_preference"}),
    ("unknown symptom", appointment_request(urgent_symptoms=[SENTINEL]), {"urgent_symptoms.0"}),
    ("no consent", appointment_request(consent=False), {"consent"}),
    ("missing consent", without(appointment_request(), "consent"), {"consent"}),
    ("missing patient", without(appointment_request(), "patient"), {"patient"}),
    ("extra field", appointment_request(status="confirmed"), {"status"}),
    bad_patient("extra patient field", "ssn", SENTINEL),
    (
        "windows as object",
        appointment_request(preferred_windows={"date": "2026-12-07"}),
        {"preferred_windows"},
    ),
]


@pytest.mark.parametrize(
    ("body", "fields"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
async def test_bad_field_gets_422_naming_it_and_stores_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: dict[str, Any], fields: set[str]
) -> None:
    # json.dumps escapes non-ASCII, so even a lone surrogate travels as a browser would send it.
    response = await client.post(
        "/api/v1/appointments",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )

    assert error_fields(response) == fields
    assert SENTINEL not in response.text
    assert all("input" not in error for error in response.json()["errors"])
    assert await stored_appointments(app) == []


# What the patient reads for some of the cases above: the API's words are the form's words.
PATIENT_WORDS = {
    "empty first name": "Please enter your first name.",
    "long last name": "Please shorten your last name to 50 characters or fewer.",
    "short link as name": "Please enter only your first name, using letters, spaces, hyphens, "
    "apostrophes and periods.",
    "bad email": "Enter an email address like name@example.com.",
    "bad phone": "Enter a phone number we can call, with its area code.",
    "birth in the future": "Your date of birth cannot be in the future.",
    "unknown reason": "Please choose the reason for your visit.",
    "other without detail": "Tell us briefly what the visit is about.",
    "no windows": "Choose at least one day.",
    "four windows": "Choose no more than three days.",
    "duplicate windows": "You chose the same day and time of day twice; please change one.",
    "past date": "That day has passed; choose a day from today onwards.",
    "saturday": "The practice is closed on Saturdays; choose another day.",
    "two years ahead": "Choose a day no later than 28 February 2027.",
    "unknown contact": "Please choose how we should contact you: email or phone.",
    "no consent": "Please agree, so that we may store your request.",
    "missing consent": "Please agree, so that we may store your request.",
}
PYDANTIC_WORDS = re.compile(r"Input should|List should|Value error|Field required|^[a-z]|must ")
# An integrator's mistakes, not a patient's: these keep the API's own words.
FOR_INTEGRATORS = {"extra field", "extra patient field"}


@pytest.mark.parametrize(
    ("name", "body"), [case[:2] for case in CASES], ids=[case[0] for case in CASES]
)
async def test_every_message_about_the_request_is_written_for_the_patient(
    client: httpx.AsyncClient, name: str, body: dict[str, Any]
) -> None:
    response = await client.post(
        "/api/v1/appointments",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    messages = [error["message"] for error in assert_problem(response, 422)["errors"]]
    if name in PATIENT_WORDS:
        assert messages == [PATIENT_WORDS[name]]
    if name not in FOR_INTEGRATORS:
        assert all(not PYDANTIC_WORDS.search(message) for message in messages), messages
        assert all(message.endswith(".") for message in messages), messages


async def test_every_bad_field_is_listed_at_once(client: httpx.AsyncClient) -> None:
    body = appointment_request(
        patient__email="nope",
        patient__phone="1",
        reason_code="other",
        preferred_windows=[{"date": "2026-12-05", "part_of_day": "any"}],
        consent=False,
    )
    response = await client.post("/api/v1/appointments", json=body)
    assert error_fields(response) == {
        "patient.email",
        "patient.phone",
        "reason_detail",
        "preferred_windows.0.date",
        "consent",
    }
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert "5 fields" in problem["detail"]
    assert all(set(error) == {"field", "pointer", "message"} for error in problem["errors"])
    assert {error["pointer"] for error in problem["errors"]} >= {"#/patient/email"}


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"", {"content-type": "application/json"}),
        (b"{", {"content-type": "application/json"}),
        (b'{"patient": ', {"content-type": "application/json"}),
        (b"[]", {"content-type": "application/json"}),
        (b"null", {"content-type": "application/json"}),
        (b'"text"', {"content-type": "application/json"}),
        (b"\xff\xfe", {"content-type": "application/json"}),
    ],
    ids=["empty", "truncated", "half", "array", "null", "string", "not utf-8"],
)
async def test_malformed_json_gets_a_problem_not_a_500(
    client: httpx.AsyncClient, app: FastAPI, content: bytes, headers: dict[str, str]
) -> None:
    response = await client.post("/api/v1/appointments", content=content, headers=headers)
    assert response.status_code in {400, 422}, response.text
    assert_problem(response, response.status_code)
    assert await stored_appointments(app) == []


async def test_a_form_encoded_body_gets_415(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.post(
        "/api/v1/appointments", data={"patient": SENTINEL, "consent": "true"}
    )
    body = assert_problem(response, 415)
    assert body["type"] == "/problems/unsupported-media-type"
    assert SENTINEL not in response.text
    assert await stored_appointments(app) == []


async def test_a_text_plain_body_gets_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/appointments",
        content=json.dumps(appointment_request()),
        headers={"content-type": "text/plain"},
    )
    assert_problem(response, 415)


async def test_json_with_charset_parameter_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/appointments",
        content=json.dumps(appointment_request()).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


async def test_a_body_over_the_limit_with_content_length_gets_413(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    body = appointment_request(reason_detail="x" * (70 * 1024))
    response = await client.post("/api/v1/appointments", json=body)
    problem = assert_problem(response, 413)
    assert problem["type"] == "/problems/payload-too-large"
    assert await stored_appointments(app) == []


async def test_a_ten_megabyte_body_streamed_without_content_length_gets_413(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(160):
            yield b"x" * 65536

    response = await client.post(
        "/api/v1/appointments", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)
    assert await stored_appointments(app) == []
