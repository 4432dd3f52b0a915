"""What a patient reads when a field of their appointment request is wrong.

One table serves the API's 422 (integrators show ``errors[].message`` to patients) and the hosted
form, so both say the same words. A message never repeats what was typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

NAME_MAX_LENGTH = 50
REASON_DETAIL_MAX_LENGTH = 2000

# The error type of a message already written for the patient; it is never replaced.
PATIENT_MESSAGE = "patient_message"


def patient_error(message: str) -> PydanticCustomError:
    """Raise this from a validator whose reason the patient needs to know in its own words."""
    return PydanticCustomError(PATIENT_MESSAGE, message)


@dataclass(frozen=True, slots=True)
class FieldWords:
    invalid: str
    missing: str | None = None
    too_long: str | None = None

    def for_error(self, error_type: str, value: Any) -> str:
        if _left_empty(error_type, value):
            return self.missing or self.invalid
        if error_type in {"string_too_long", "too_long"}:
            return self.too_long or self.invalid
        return self.invalid


def _left_empty(error_type: str, value: Any) -> bool:
    if error_type == "missing" or value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list) and not value


def _name_words(which: str) -> FieldWords:
    return FieldWords(
        invalid=f"Please enter only your {which}, using letters, spaces, hyphens, apostrophes "
        "and periods.",
        missing=f"Please enter your {which}.",
        too_long=f"Please shorten your {which} to {NAME_MAX_LENGTH} characters or fewer.",
    )


_SYMPTOMS = FieldWords("Please choose only from the symptoms listed.")

# Keyed by the field's dotted path; list positions are written as "*".
FIELD_WORDS: dict[str, FieldWords] = {
    "patient": FieldWords("Please tell us who you are."),
    "patient.first_name": _name_words("first name"),
    "patient.last_name": _name_words("last name"),
    "patient.email": FieldWords(
        "Enter an email address like name@example.com.",
        missing="Please enter your email address.",
    ),
    "patient.phone": FieldWords(
        "Enter a phone number we can call, with its area code.",
        missing="Please enter your phone number.",
    ),
    "patient.date_of_birth": FieldWords("Enter your date of birth as year-month-day."),
    "patient.is_new_patient": FieldWords(
        "Please tell us whether you have been to the practice before."
    ),
    "reason_code": FieldWords("Please choose the reason for your visit."),
    "reason_detail": FieldWords(
        "Please describe the reason in plain words, without special characters.",
        too_long="Please shorten the description to "
        f"{REASON_DETAIL_MAX_LENGTH} characters or fewer.",
    ),
    "preferred_windows": FieldWords(
        "Choose one to three days.",
        missing="Choose at least one day.",
        too_long="Choose no more than three days.",
    ),
    "preferred_windows.*": FieldWords("Choose a day and a time of day."),
    "preferred_windows.*.date": FieldWords(
        "Enter the day as year-month-day.", missing="Choose a day."
    ),
    "preferred_windows.*.part_of_day": FieldWords("Choose morning, afternoon or any time."),
    "contact_preference": FieldWords("Please choose how we should contact you: email or phone."),
    "urgent_symptoms": _SYMPTOMS,
    "urgent_symptoms.*": _SYMPTOMS,
    "consent": FieldWords("Please agree, so that we may store your request."),
}

_POSITION = re.compile(r"(?<=\.)\d+(?=\.|$)")


def in_patient_words(error: ValidationError) -> ValidationError:
    """The same errors, each in the patient's words where the table knows the field.

    Fields the table does not know (an unknown field sent by an integrator, say) keep their
    original error, which the problem renderer words without echoing the input.
    """
    details: list[InitErrorDetails] = []
    for line in error.errors():
        path = _POSITION.sub("*", ".".join(str(part) for part in line["loc"]))
        words = FIELD_WORDS.get(path)
        if line["type"] == PATIENT_MESSAGE:
            message = line["msg"]
        elif words is not None:
            message = words.for_error(line["type"], line["input"])
        else:
            kept = InitErrorDetails(type=line["type"], loc=line["loc"], input=line["input"])
            if "ctx" in line:
                kept["ctx"] = line["ctx"]
            details.append(kept)
            continue
        details.append(
            InitErrorDetails(type=patient_error(message), loc=line["loc"], input=line["input"])
        )
    return ValidationError.from_exception_data(error.title, details)
