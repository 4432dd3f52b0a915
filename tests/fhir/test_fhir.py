"""The FHIR R4 door: every resource it returns validates with fhir.resources (R4B models),
searches filter and page as FHIR says, and errors are OperationOutcomes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from booking.fhir.resources import REASON_CODE_SYSTEM
from booking.fhir.service import FHIR_APPOINTMENT_STATUSES
from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.availability.helpers import book
from tests.helpers import chicago, create_request

FHIR = "/fhir/r4"
MONDAY, TUESDAY, WEDNESDAY = "2026-12-07", "2026-12-08", "2026-12-09"


async def read(client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    # (httpx replaces a URL's query with ``params`` even when they are empty: a next link is
    # sent as it is.)
    response = await client.get(FHIR + path, params=params or None, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def outcome(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    body = response.json()
    OperationOutcome.model_validate(body)
    issues: list[dict[str, Any]] = body["issue"]
    assert issues
    assert all(issue["diagnostics"] for issue in issues)
    return issues


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset"
    return [entry["resource"] for entry in bundle.get("entry", [])]


def next_link(bundle: dict[str, Any]) -> str | None:
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    return links.get("next")


async def every_page(
    client: httpx.AsyncClient, headers: dict[str, str], first: dict[str, Any]
) -> list[dict[str, Any]]:
    """The resources of a search's first page and of every page its `next` links lead to, in
    order; each link absolute and free of patient data."""
    found, page = entries(first), first
    while (url := next_link(page)) is not None:
        assert url.startswith("http")
        assert "ana" not in url.lower()
        page = await read(client, headers, url.split(FHIR, 1)[1])
        found += entries(page)
    return found


async def test_the_capability_statement_names_what_is_served(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    statement = await read(client, desk, "/metadata")
    CapabilityStatement.model_validate(statement)
    served = {resource["type"] for resource in statement["rest"][0]["resource"]}
    assert served == {"Appointment", "Schedule", "Slot"}
    assert statement["fhirVersion"] == "4.0.1"


async def test_a_request_reads_as_a_proposed_appointment_with_its_patient_contained(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(
        client,
        reason_code="sciatica",
        urgent_symptoms=["recent_trauma"],
        preferred_windows=[
            {"date": MONDAY, "part_of_day": "afternoon"},
            {"date": WEDNESDAY, "part_of_day": "morning"},
        ],
    )
    resource = await read(client, desk, f"/Appointment/{appointment_id}")
    FhirAppointment.model_validate(resource)
    assert resource["id"] == appointment_id
    assert resource["status"] == "proposed"
    assert resource["priority"] == 1  # urgent
    assert "start" not in resource
    coding = resource["reasonCode"][0]["coding"][0]
    assert (coding["system"], coding["code"]) == (REASON_CODE_SYSTEM, "sciatica")
    patient = resource["contained"][0]
    assert patient["resourceType"] == "Patient"
    assert patient["name"][0] == {
        "use": "official",
        "text": "Ana Ruiz",
        "family": "Ruiz",
        "given": ["Ana"],
    }
    assert {point["system"]: point["value"] for point in patient["telecom"]} == {
        "email": "ana.ruiz@example.com",
        "phone": "+13125550142",
    }
    assert patient["birthDate"] == "1980-04-02"
    assert resource["participant"] == [{"actor": {"reference": "#patient"}, "status": "accepted"}]
    # The preferred windows as periods of the practice's day, with its offset.
    assert resource["requestedPeriod"] == [
        {"start": f"{MONDAY}T12:00:00-06:00", "end": f"{TUESDAY}T00:00:00-06:00"},
        {"start": f"{WEDNESDAY}T00:00:00-06:00", "end": f"{WEDNESDAY}T12:00:00-06:00"},
    ]


async def test_a_confirmed_visit_reads_as_booked_with_its_time_and_provider(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await book(client, desk, chicago(MONDAY, "09:30"), duration_minutes=45)
    resource = await read(client, desk, f"/Appointment/{appointment_id}")
    FhirAppointment.model_validate(resource)
    assert resource["status"] == "booked"
    assert (resource["start"], resource["end"]) == (
        f"{MONDAY}T09:30:00-06:00",
        f"{MONDAY}T10:15:00-06:00",
    )
    assert resource["minutesDuration"] == 45
    performer = resource["participant"][1]
    assert performer["actor"]["identifier"]["value"] == str(DEFAULT_PROVIDER_ID)
    assert performer["actor"]["display"] == "Practice"  # the provider's name, looked up
    assert performer["type"][0]["coding"][0]["code"] == "PPRF"
    assert resource["meta"]["versionId"] == "2"  # the JSON API's version after one change


async def test_searching_by_day_and_status_pages_through_every_match_once(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    late_monday = await book(client, desk, chicago(MONDAY, "15:00"))
    early_monday = await book(client, desk, chicago(MONDAY, "08:00"))
    tuesday = await book(client, desk, chicago(TUESDAY, "10:00"))
    await create_request(client)  # no visit: not on any day
    cancelled = await book(client, desk, chicago(MONDAY, "11:00"))
    response = await client.post(
        f"/api/v1/appointments/{cancelled}/cancel", json={"reason": "asked"}, headers=desk
    )
    assert response.status_code == 200

    monday = await read(client, desk, "/Appointment", date=[f"ge{MONDAY}", f"lt{TUESDAY}"])
    assert [r["id"] for r in entries(monday)] == [early_monday, cancelled, late_monday]

    booked = await read(
        client, desk, "/Appointment", date=[f"ge{MONDAY}", f"le{TUESDAY}"], status="booked"
    )
    assert [r["id"] for r in entries(booked)] == [early_monday, late_monday, tuesday]

    # One at a time, following `next` links: each once, in order, and then no next link.
    first = await read(client, desk, "/Appointment", date=f"ge{MONDAY}", status="booked", _count=1)
    assert next_link(first) is not None
    found = await every_page(client, desk, first)
    for resource in found:
        FhirAppointment.model_validate(resource)
    assert [r["id"] for r in found] == [early_monday, late_monday, tuesday]


async def test_a_search_without_a_day_lists_requests_too_newest_first(
    client: httpx.AsyncClient, desk: dict[str, str], clock: Any
) -> None:
    first = await create_request(client)
    clock.advance(dt.timedelta(minutes=1))
    second = await create_request(client)
    bundle = await read(client, desk, "/Appointment", status="proposed")
    assert [r["id"] for r in entries(bundle)] == [second, first]
    # A FHIR status we never use matches nothing.
    assert entries(await read(client, desk, "/Appointment", status="waitlist")) == []


async def test_schedules_are_the_providers(client: httpx.AsyncClient, desk: dict[str, str]) -> None:
    bundle = await read(client, desk, "/Schedule")
    schedules = entries(bundle)
    assert [s["id"] for s in schedules] == [str(DEFAULT_PROVIDER_ID)]
    for schedule in schedules:
        Schedule.model_validate(schedule)
    one = await read(client, desk, f"/Schedule/{DEFAULT_PROVIDER_ID}")
    Schedule.model_validate(one)
    assert one == schedules[0]


async def test_more_schedules_than_count_are_paged(
    client: httpx.AsyncClient, desk: dict[str, str], admin: dict[str, str]
) -> None:
    for name in ("Dr. Two", "Dr. Three"):
        added = await client.post("/api/v1/providers", json={"name": name}, headers=admin)
        assert added.status_code == 201, added.text
    every = [s["id"] for s in entries(await read(client, desk, "/Schedule"))]
    assert len(every) == 3

    first = await read(client, desk, "/Schedule", _count=2)
    assert next_link(first) is not None
    assert [s["id"] for s in await every_page(client, desk, first)] == every


async def test_slots_are_the_free_times_around_the_booked_visits(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    await book(client, desk, chicago(MONDAY, "09:00"), duration_minutes=60)
    params = {
        "schedule": f"Schedule/{DEFAULT_PROVIDER_ID}",
        "start": [f"ge{MONDAY}", f"lt{TUESDAY}"],
    }
    bundle = await read(client, desk, "/Slot", **params)
    slots = entries(bundle)
    for slot in slots:
        Slot.model_validate(slot)
        assert slot["status"] == "free"
        assert slot["schedule"] == {"reference": f"Schedule/{DEFAULT_PROVIDER_ID}"}
        assert slot["start"].startswith(MONDAY)
    starts = [slot["start"][11:16] for slot in slots]
    assert "08:45" in starts
    assert "10:00" in starts
    assert not {"09:00", "09:15", "09:30", "09:45"} & set(starts)

    # Paged: the same slots, each once.
    paged = await every_page(client, desk, await read(client, desk, "/Slot", _count=10, **params))
    assert [slot["id"] for slot in paged] == [slot["id"] for slot in slots]


async def test_a_slot_booked_between_two_pages_moves_no_other_slot_past_the_reader(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    params = {
        "schedule": f"Schedule/{DEFAULT_PROVIDER_ID}",
        "start": [f"ge{MONDAY}", f"lt{TUESDAY}"],
    }
    every = [slot["id"] for slot in entries(await read(client, desk, "/Slot", **params))]
    first = await read(client, desk, "/Slot", _count=4, **params)
    assert [slot["id"] for slot in entries(first)] == every[:4]

    # The page's first slot and the one after it are booked before the reader goes on; the
    # page's last slot is booked too, so the cursor names a slot that is no longer free.
    await book(client, desk, entries(first)[0]["start"], duration_minutes=30)
    await book(client, desk, entries(first)[-1]["start"], duration_minutes=15)
    still_free = [slot["id"] for slot in entries(await read(client, desk, "/Slot", **params))]
    assert len(still_free) < len(every) - 2

    url = next_link(first)
    assert url is not None
    following = await read(client, desk, url.split(FHIR, 1)[1])
    rest = [slot["id"] for slot in await every_page(client, desk, following)]
    # Every slot still free after the page already read, each once; an offset would have
    # skipped the ones that moved up onto that page.
    assert rest == [slot for slot in still_free if slot in every[4:]]
    assert rest[0] == every[4]


async def test_an_unknown_schedule_has_no_slots(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    unknown = "Schedule/00000000-0000-4000-8000-000000000000"
    assert entries(await read(client, desk, "/Slot", schedule=unknown)) == []


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/Appointment", {"date": "ge2026-12-07T09:00"}, "query.date"),
        ("/Appointment", {"date": "sa2026-12-07"}, "query.date"),
        ("/Appointment", {"status": "booked,bogus"}, "query.status"),
        ("/Appointment", {"patient": "Patient/1"}, "query.patient"),
        ("/Appointment", {"_count": "0"}, "query._count"),
        ("/Slot", {"schedule": "Practitioner/x"}, "query.schedule"),
        ("/Slot", {"start": ["ge2026-12-07", "lt2027-03-01"]}, "query.start"),
        ("/Schedule", {"name": "Zebulon"}, "query.name"),
        ("/Appointment", {"cursor": "e30"}, "query.cursor"),
        ("/Schedule", {"cursor": "00000000-0000-4000-8000-00000000000f"}, "query.cursor"),
        ("/Slot", {"cursor": "20"}, "query.cursor"),
        ("/Slot", {"cursor": f"{DEFAULT_PROVIDER_ID}-2026-12-07T09:00"}, "query.cursor"),
    ],
)
async def test_a_bad_search_is_an_operation_outcome_naming_the_parameter(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    path: str,
    params: dict[str, Any],
    named: str,
) -> None:
    response = await client.get(FHIR + path, params=params, headers=desk)
    issues = outcome(response, 422)
    assert [issue["expression"] for issue in issues] == [[named]]
    # The value sent is not repeated back.
    assert all(str(value) not in response.text for value in params.values() if len(value) > 3)


async def test_errors_are_operation_outcomes(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    (issue,) = outcome(await client.get(FHIR + "/metadata"), 401)
    assert issue["code"] == "login"
    missing = "/Appointment/00000000-0000-4000-8000-000000000000"
    (issue,) = outcome(await client.get(FHIR + missing, headers=desk), 404)
    assert issue["code"] == "not-found"
    (issue,) = outcome(await client.post(FHIR + "/Appointment", json={}, headers=desk), 405)
    assert issue["code"] == "not-supported"
    (issue,) = outcome(await client.get(FHIR + "/Patient", headers=desk), 404)
    # The JSON API still speaks problem+json.
    response = await client.get("/api/v1/appointments/not-a-uuid", headers=desk)
    assert response.headers["content-type"] == "application/problem+json"


def test_every_status_maps_to_a_fhir_appointment_status() -> None:
    from booking.appointments.lifecycle import STATUSES

    assert {info.fhir for info in STATUSES.values()} <= FHIR_APPOINTMENT_STATUSES


async def test_after_the_purge_the_contained_patient_keeps_no_details(
    client: httpx.AsyncClient, app: Any, desk_account: Any, desk: dict[str, str], clock: Any
) -> None:
    from booking.privacy import service as privacy
    from tests.staff.helpers import bearer

    appointment_id = await create_request(client)
    response = await client.post(
        f"/api/v1/appointments/{appointment_id}/decline", json={"reason": "r"}, headers=desk
    )
    assert response.status_code == 200
    clock.advance(dt.timedelta(days=800))
    async with app.state.sessionmaker() as session, session.begin():
        await privacy.purge(session, now=clock.now(), retention_days=730)

    resource = await read(client, bearer(app, desk_account), f"/Appointment/{appointment_id}")
    FhirAppointment.model_validate(resource)
    assert resource["contained"] == [{"resourceType": "Patient", "id": "patient"}]
    assert "comment" not in resource
    assert resource["status"] == "cancelled"
