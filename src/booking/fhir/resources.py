"""Our records as FHIR R4 resources (plain JSON documents; the tests validate them with
fhir.resources). Nothing here reads the database."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from booking.appointments.lifecycle import STATUSES, AppointmentStatus
from booking.appointments.models import PartOfDay
from booking.appointments.reasons import REASONS, ReasonCode
from booking.availability.service import Slot

FHIR_VERSION = "4.0.1"

# Our own code systems. Fixed names, not addresses of this server: a code's system must not
# change when the practice moves its service to another host.
REASON_CODE_SYSTEM = "urn:booking:fhir:CodeSystem:reason-code"
REFERENCE_SYSTEM = "urn:booking:fhir:NamingSystem:reference"
PROVIDER_SYSTEM = "urn:booking:fhir:NamingSystem:provider"

# The provider takes part as the visit's primary performer (HL7 v3 ParticipationType).
_PRIMARY_PERFORMER = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
            "code": "PPRF",
            "display": "primary performer",
        }
    ]
}

# A preferred window as hours of the practice's day: [from, to).
_PART_OF_DAY_HOURS = {
    PartOfDay.morning: (0, 12),
    PartOfDay.afternoon: (12, 24),
    PartOfDay.any: (0, 24),
}


def instant(moment: dt.datetime, zone: ZoneInfo) -> str:
    """A time as FHIR's instant, written in the practice's time zone with its offset."""
    return moment.astimezone(zone).isoformat()


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _provider(provider_id: uuid.UUID, name: str) -> dict[str, Any]:
    """A provider as a reference: named, identified, and the id of their Schedule."""
    return {"identifier": {"system": PROVIDER_SYSTEM, "value": str(provider_id)}, "display": name}


def appointment(
    row: Mapping[Any, Any], *, zone: ZoneInfo, provider_names: Mapping[uuid.UUID, str]
) -> dict[str, Any]:
    """One appointment (a row's mapping): the patient contained, the reason coded, the
    preferred days as requested periods, the provider as the primary performer."""
    status = AppointmentStatus(row["status"])
    reason = REASONS[ReasonCode(row["reason_code"])]
    participants: list[dict[str, Any]] = [
        {"actor": {"reference": "#patient"}, "status": "accepted"}
    ]
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(row["id"]),
        "meta": {"versionId": str(row["version"]), "lastUpdated": _utc(row["updated_at"])},
        "contained": [_patient(row)],
        "identifier": [{"system": REFERENCE_SYSTEM, "value": row["reference"]}],
        "status": STATUSES[status].fhir,
        "reasonCode": [
            {
                "coding": [
                    {
                        "system": REASON_CODE_SYSTEM,
                        "code": reason.code.value,
                        "display": reason.label,
                    }
                ],
                "text": reason.label,
            }
        ],
        # FHIR's priority: 1 is the highest. Red-flag symptoms are what the desk sees first.
        "priority": 1 if row["is_urgent"] else 5,
        "created": _utc(row["created_at"]),
        "participant": participants,
        "requestedPeriod": [_period(window, zone) for window in row["preferred_windows"]],
    }
    if row["reason_detail"]:
        resource["comment"] = row["reason_detail"]
    start_at, end_at = row["start_at"], row["end_at"]
    if start_at is not None and end_at is not None:
        resource["start"] = instant(start_at, zone)
        resource["end"] = instant(end_at, zone)
        resource["minutesDuration"] = int((end_at - start_at).total_seconds() // 60)
    provider_id = row["provider_id"]
    if provider_id is not None:
        name = provider_names.get(provider_id, "Provider")
        participants.append(
            {
                "type": [_PRIMARY_PERFORMER],
                "actor": _provider(provider_id, name),
                "status": "accepted",
            }
        )
    return resource


def _patient(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The patient as a contained resource. After the retention purge the details are gone, and
    so are the elements that held them."""
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "patient"}
    given, family = row["first_name"], row["last_name"]
    if given or family:
        name: dict[str, Any] = {"use": "official", "text": f"{given} {family}".strip()}
        if family:
            name["family"] = family
        if given:
            name["given"] = [given]
        patient["name"] = [name]
    telecom = [
        {"system": system, "value": row[column], "use": "home" if system == "email" else "mobile"}
        for system, column in (("email", "email"), ("phone", "phone"))
        if row[column]
    ]
    if telecom:
        preferred = "email" if row["contact_preference"] == "email" else "phone"
        for point in telecom:
            if point["system"] == preferred:
                point["rank"] = 1
        patient["telecom"] = telecom
    if row["date_of_birth"] is not None:
        patient["birthDate"] = row["date_of_birth"].isoformat()
    return patient


def _period(window: Mapping[str, Any], zone: ZoneInfo) -> dict[str, str]:
    day = dt.date.fromisoformat(window["date"])
    first, last = _PART_OF_DAY_HOURS[PartOfDay(window["part_of_day"])]
    midnight = dt.datetime.combine(day, dt.time(), zone)
    # Wall-clock hours (a DST day has 23 or 25): each end is that hour on that day's clock.
    start = midnight.replace(hour=first)
    end = (
        midnight.replace(hour=last)
        if last < 24
        else dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    )
    return {"start": start.isoformat(), "end": end.isoformat()}


def schedule(provider_id: uuid.UUID, name: str, *, active: bool) -> dict[str, Any]:
    """One provider's diary."""
    return {
        "resourceType": "Schedule",
        "id": str(provider_id),
        "identifier": [{"system": PROVIDER_SYSTEM, "value": str(provider_id)}],
        "active": active,
        "actor": [_provider(provider_id, name)],
        "comment": f"The diary of {name}.",
    }


# A slot's id: its provider's id and its start in UTC, to the minute (the slot grid's unit).
_SLOT_START = "%Y%m%dT%H%M"


def slot_id(free: Slot) -> str:
    """The same free time has the same id on every search; a search pages by it."""
    return f"{free.provider_id}-{free.start_at.astimezone(dt.UTC).strftime(_SLOT_START)}"


def slot_order(free: Slot) -> tuple[dt.datetime, str]:
    """The order a Slot search answers in: by start, then by schedule."""
    return free.start_at, str(free.provider_id)


def slot_order_of_id(value: str) -> tuple[dt.datetime, str] | None:
    """``slot_order`` of the slot with this id, booked since or not; None if it is no slot id."""
    provider_id, _, start = value.rpartition("-")
    try:
        provider = uuid.UUID(provider_id)
        start_at = dt.datetime.strptime(start, _SLOT_START).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return start_at, str(provider)


def slot(free: Slot, zone: ZoneInfo) -> dict[str, Any]:
    """A free time in a provider's diary."""
    return {
        "resourceType": "Slot",
        "id": slot_id(free),
        "schedule": {"reference": f"Schedule/{free.provider_id}"},
        "status": "free",
        "start": instant(free.start_at, zone),
        "end": instant(free.end_at, zone),
    }


def searchset(
    resources: Sequence[dict[str, Any]], *, base_url: str, self_url: str, next_url: str | None
) -> dict[str, Any]:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }


def capability_statement(*, base_url: str, practice_name: str, now: dt.datetime) -> dict[str, Any]:
    """What this server can do: read and search, JSON only, behind a bearer token."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _utc(now.replace(microsecond=0)),
        "publisher": practice_name,
        "kind": "instance",
        "software": {"name": "booking"},
        "implementation": {"description": f"{practice_name}: appointments", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "Authorization: Bearer with a staff token "
                    "(POST /api/v1/auth/token) or an API key with the fhir:read scope.",
                },
                "resource": [
                    _capability(kind, read=read, params=params)
                    for kind, (read, params) in _RESOURCES.items()
                ],
            }
        ],
    }


# Each resource served: whether it is read by id, and its search parameters (name, FHIR type,
# documentation) besides _count.
_RESOURCES: dict[str, tuple[bool, list[tuple[str, str, str]]]] = {
    "Appointment": (
        True,
        [
            ("date", "date", "The visit's day (ge, gt, le, lt, eq; YYYY-MM-DD)"),
            ("status", "token", "proposed, booked, fulfilled, noshow, cancelled"),
        ],
    ),
    "Schedule": (True, []),
    "Slot": (
        False,
        [
            ("schedule", "reference", "Schedule/{id}: one provider's free times"),
            ("start", "date", "The free time's day (ge, gt, le, lt, eq)"),
        ],
    ),
}


def _capability(kind: str, *, read: bool, params: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    interactions = [{"code": "search-type"}] + ([{"code": "read"}] if read else [])
    return {
        "type": kind,
        "interaction": interactions,
        "searchParam": [
            {"name": name, "type": type_, "documentation": documentation}
            for name, type_, documentation in [*params, ("_count", "number", "Page size")]
        ],
    }
