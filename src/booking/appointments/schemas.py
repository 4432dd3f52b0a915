"""What clients send and receive. Every field is checked here, so one 422 names every bad field."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
import uuid
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import Row

from booking.appointments.messages import (
    NAME_MAX_LENGTH,
    REASON_DETAIL_MAX_LENGTH,
    in_patient_words,
    patient_error,
)
from booking.appointments.models import (
    FHIR_STATUS,
    Appointment,
    AppointmentStatus,
    ContactPreference,
    EventSource,
    PartOfDay,
)
from booking.appointments.reasons import ReasonCode, UrgentSymptom
from booking.appointments.rules import rules_in
from booking.values import (
    EmailAddress,
    IsoDate,
    IsoDateTime,
    clean_line,
    clean_paragraphs,
)

# Letters of any script (with their combining marks) and these; nothing that makes a link.
_NAME_PUNCTUATION = frozenset(" -'\u2019.")
# "evil.example", "www.": a period between a letter and a word ("J.R.R." and "St. John" pass).
_DOMAIN_LIKE = re.compile(r"\w\.\w{2,}|www\.", re.IGNORECASE)


def _looks_like_a_name(value: str) -> str:
    """Names are copied into the practice's emails: they must not carry links or messages."""
    if not any(char.isalpha() for char in value):
        raise ValueError("must contain letters")
    for char in value:
        if char not in _NAME_PUNCTUATION and unicodedata.category(char)[0] not in "LM":
            raise ValueError("must contain only letters, spaces, hyphens, apostrophes, periods")
    if _DOMAIN_LIKE.search(value):
        raise ValueError("must not look like a web address")
    return value


def _e164_phone(value: str, info: ValidationInfo) -> str:
    region = rules_in(info).phone_region
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError("must be a valid phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("must be a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _plausible_birth_date(value: dt.date | None, info: ValidationInfo) -> dt.date | None:
    if value is None:
        return None
    today = rules_in(info).today
    if value > today:
        raise patient_error("Your date of birth cannot be in the future.")
    if value < today.replace(year=today.year - 130):
        raise patient_error("Please check the year of your date of birth.")
    return value


def _bookable_day(value: dt.date, info: ValidationInfo) -> dt.date:
    problem = rules_in(info).problem_with_day(value)
    if problem:
        raise patient_error(problem)
    return value


PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH),
    AfterValidator(clean_line),
    AfterValidator(_looks_like_a_name),
]
PhoneNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=32),
    AfterValidator(_e164_phone),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _PatientBody(_Input):
    """A body a patient sends (the form, the link): its errors are worded for the patient."""

    @model_validator(mode="wrap")
    @classmethod
    def _errors_in_patient_words(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except ValidationError as error:
            raise in_patient_words(error) from None


class PatientIn(_Input):
    first_name: PersonName = Field(examples=["Ana"])
    last_name: PersonName = Field(examples=["Ruiz"])
    email: EmailAddress = Field(examples=["ana.ruiz@example.com"])
    phone: PhoneNumber = Field(
        examples=["+1 312 555 0142"],
        description="Any common notation; stored as E.164. Numbers without a country code are "
        "read as numbers of the practice's country.",
    )
    date_of_birth: Annotated[IsoDate | None, AfterValidator(_plausible_birth_date)] = None
    is_new_patient: StrictBool


class PreferredWindow(_Input):
    date: Annotated[IsoDate, AfterValidator(_bookable_day)] = Field(
        description="A day the practice is open, from today up to the booking horizon, "
        "in the practice's time zone."
    )
    part_of_day: PartOfDay = PartOfDay.any


def _distinct_windows(windows: list[PreferredWindow]) -> list[PreferredWindow]:
    seen = {(window.date, window.part_of_day) for window in windows}
    if len(seen) != len(windows):
        raise patient_error("You chose the same day and time of day twice; please change one.")
    return windows


def _distinct_symptoms(symptoms: list[UrgentSymptom]) -> list[UrgentSymptom]:
    return list(dict.fromkeys(symptoms))


class AppointmentCreate(_PatientBody):
    """A request for an appointment, as the practice's website form posts it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "patient": {
                        "first_name": "Ana",
                        "last_name": "Ruiz",
                        "email": "ana.ruiz@example.com",
                        "phone": "+1 312 555 0142",
                        "date_of_birth": "1980-04-02",
                        "is_new_patient": True,
                    },
                    "reason_code": "back_pain",
                    "preferred_windows": [{"date": "2026-12-01", "part_of_day": "morning"}],
                    "contact_preference": "email",
                    "urgent_symptoms": [],
                    "consent": True,
                }
            ]
        },
    )

    patient: PatientIn
    reason_code: ReasonCode
    reason_detail: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, max_length=REASON_DETAIL_MAX_LENGTH),
        AfterValidator(lambda value: clean_paragraphs(value) if value else value),
    ] = Field(
        default=None, validate_default=True, description="Required when reason_code is other."
    )
    preferred_windows: Annotated[
        list[PreferredWindow], Field(min_length=1, max_length=3), AfterValidator(_distinct_windows)
    ]
    contact_preference: ContactPreference
    urgent_symptoms: Annotated[
        list[UrgentSymptom],
        Field(max_length=len(UrgentSymptom)),
        AfterValidator(_distinct_symptoms),
    ] = Field(
        default_factory=list,
        description="Red-flag symptoms; any one marks the request urgent.",
    )
    consent: Literal[True] = Field(
        description="The patient agrees that the practice stores this request."
    )
    earlier_if_possible: StrictBool = Field(
        default=False,
        description="Offer the patient an earlier time by email if one opens (the waitlist).",
    )

    @field_validator("reason_detail")
    @classmethod
    def _detail_for_other(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("reason_code") == ReasonCode.other and not value:
            raise patient_error("Tell us briefly what the visit is about.")
        return value or None


PreferredWindows = Annotated[
    list[PreferredWindow], Field(min_length=1, max_length=3), AfterValidator(_distinct_windows)
]


class MoveRequest(_PatientBody):
    """A confirmed patient asks for other days (validated like a new request's windows)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"preferred_windows": [{"date": "2026-12-08", "part_of_day": "any"}]}]
        },
    )

    preferred_windows: PreferredWindows


class AppointmentCreated(BaseModel):
    id: uuid.UUID
    reference: str = Field(
        examples=["K7F3-9QX2"], description="Short code the patient can quote on the phone."
    )
    status: AppointmentStatus = Field(examples=["requested"])
    urgent: bool
    advisory: str | None = Field(
        description="Shown to the patient right away when they should not wait for a call back.",
        examples=[None],
    )
    created_at: dt.datetime


class ReasonCodeOut(BaseModel):
    code: ReasonCode
    label: str
    description: str
    default_duration_minutes: int


# --- the front desk ---------------------------------------------------------------------------

# Limits the desk's form fields announce too (min, max, maxlength), from here.
VISIT_MINUTES = (5, 480)
REASON_MAX_LENGTH = 500
MESSAGE_MAX_LENGTH = 1000
VisitMinutes = Annotated[StrictInt, Field(ge=VISIT_MINUTES[0], le=VISIT_MINUTES[1])]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_MAX_LENGTH)
]


class ConfirmRequest(_Input):
    start: IsoDateTime = Field(
        description="When the visit begins; with a UTC offset (a time without one is a 422).",
        examples=["2026-12-07T09:30:00-06:00"],
    )
    duration_minutes: VisitMinutes | None = Field(
        default=None, description="Defaults to the reason code's visit length."
    )
    provider_id: uuid.UUID | None = Field(
        default=None, description="Needed only when the practice has several providers."
    )
    message: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, max_length=MESSAGE_MAX_LENGTH),
        AfterValidator(lambda value: clean_paragraphs(value) if value else None),
    ] = Field(default=None, description="A note for the patient, shown in the confirmation.")


class RescheduleRequest(_Input):
    start: IsoDateTime = Field(examples=["2026-12-08T14:00:00-06:00"])
    duration_minutes: VisitMinutes | None = Field(
        default=None, description="Defaults to the current visit's length."
    )


class ReasonRequest(_Input):
    reason: Annotated[Reason, AfterValidator(clean_paragraphs)] = Field(
        examples=["We do not treat this condition; please see your family doctor."]
    )


class PatientOut(BaseModel):
    first_name: str
    last_name: str
    email: str
    phone: str
    date_of_birth: dt.date | None
    is_new_patient: bool


class AppointmentOut(BaseModel):
    """Everything the desk knows about one request. Times are in the practice's time zone."""

    id: uuid.UUID
    reference: str
    status: AppointmentStatus
    fhir_status: str = Field(description="FHIR R4 Appointment.status", examples=["booked"])
    urgent: bool
    patient: PatientOut
    reason_code: ReasonCode
    reason_detail: str | None
    preferred_windows: list[PreferredWindowOut]
    contact_preference: ContactPreference
    urgent_symptoms: list[UrgentSymptom]
    earlier_if_possible: bool
    move_requested_at: dt.datetime | None = Field(
        description="The patient asked for other days (their preferred windows now say which); "
        "a move clears it."
    )
    provider_id: uuid.UUID | None
    start: dt.datetime | None = Field(examples=["2026-12-07T09:30:00-06:00"])
    end: dt.datetime | None
    duration_minutes: int | None
    timezone: str = Field(examples=["America/Chicago"])
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(description="Grows with every change; the ETag is this number, quoted.")

    @classmethod
    def of(cls, appointment: Appointment | Row[Any], timezone: str) -> AppointmentOut:
        return cls.model_validate(appointment_document(appointment, timezone))


def _utc_json(moment: dt.datetime) -> str:
    """A UTC time as pydantic writes it (``…Z``), so both paths give the same text."""
    return moment.isoformat().replace("+00:00", "Z")


def appointment_document(appointment: Appointment | Row[Any], timezone: str) -> dict[str, Any]:
    """An appointment as AppointmentOut's JSON, built straight from its columns.

    The desk's list sends these as they are (a page of 25 without 25 model validations);
    ``AppointmentOut.of`` validates one. Tests check that both agree with the schema.
    """
    # A row's mapping is the cheapest way to read its columns by name (the list reads 25 rows).
    row = appointment._mapping if isinstance(appointment, Row) else _Columns(appointment)
    zone = _zone(timezone)
    start_at, end_at = row["start_at"], row["end_at"]
    start = start_at.astimezone(zone) if start_at else None
    end = end_at.astimezone(zone) if end_at else None
    date_of_birth = row["date_of_birth"]
    provider_id = row["provider_id"]
    return {
        "id": str(row["id"]),
        "reference": row["reference"],
        "status": row["status"],
        "fhir_status": FHIR_STATUS[AppointmentStatus(row["status"])],
        "urgent": row["is_urgent"],
        "patient": {
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "email": row["email"],
            "phone": row["phone"],
            "date_of_birth": date_of_birth.isoformat() if date_of_birth else None,
            "is_new_patient": row["is_new_patient"],
        },
        "reason_code": row["reason_code"],
        "reason_detail": row["reason_detail"],
        "preferred_windows": row["preferred_windows"],
        "contact_preference": row["contact_preference"],
        "urgent_symptoms": row["urgent_symptoms"],
        "earlier_if_possible": row["earlier_if_possible"],
        "move_requested_at": (
            _utc_json(row["move_requested_at"]) if row["move_requested_at"] else None
        ),
        "provider_id": str(provider_id) if provider_id else None,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "duration_minutes": int((end - start).total_seconds() // 60) if start and end else None,
        "timezone": timezone,
        "created_at": _utc_json(row["created_at"]),
        "updated_at": _utc_json(row["updated_at"]),
        "version": row["version"],
    }


class _Columns:
    """A model read like a row's mapping."""

    __slots__ = ("_model",)

    def __init__(self, model: Appointment) -> None:
        self._model = model

    def __getitem__(self, name: str) -> Any:
        return getattr(self._model, name)


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class PreferredWindowOut(BaseModel):
    date: dt.date
    part_of_day: PartOfDay


class AppointmentPage(BaseModel):
    items: list[AppointmentOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class AppointmentEventOut(BaseModel):
    id: uuid.UUID
    version: int = Field(description="The appointment's version after this change.")
    occurred_at: dt.datetime
    action: str = Field(examples=["confirmed"])
    from_status: AppointmentStatus | None
    to_status: AppointmentStatus
    reason: str | None
    source: EventSource
    actor_staff_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None = Field(
        default=None, description="The API key a machine made the change with (source `api`)."
    )
    details: dict[str, Any]
