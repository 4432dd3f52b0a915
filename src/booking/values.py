"""Value types shared by every domain's schemas: text that is safe to show and to store,
email addresses, ISO dates. Domain rules (a bookable day, a patient's name) stay in their
domain's schemas."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

# Characters that can hide or reorder text on a screen (bidi overrides and isolates).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_IN_LONG_TEXT = frozenset("\n\r\t")


def reject_control_characters(value: str, allowed: frozenset[str] = frozenset()) -> str:
    for char in value:
        if char in allowed:
            continue
        if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
            raise ValueError("must not contain control characters")
    return value


def clean_line(value: str) -> str:
    value = reject_control_characters(unicodedata.normalize("NFC", value))
    if any(unicodedata.category(char) in {"Zl", "Zp"} for char in value):
        raise ValueError("must be a single line")
    return value


def clean_paragraphs(value: str) -> str:
    return reject_control_characters(unicodedata.normalize("NFC", value), _ALLOWED_IN_LONG_TEXT)


def valid_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError("must be a valid email address") from None


def iso_text_only(value: object) -> object:
    """Dates and times arrive as ISO 8601 text; pydantic would also take a number of seconds
    (as a number, or as digits in a query string: ``?scheduled_to=0`` read as 1970-01-01)."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number or (isinstance(value, str) and value.strip().lstrip("+-").isdigit()):
        raise ValueError("must be written as ISO 8601 text, e.g. 2026-12-07")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(iso_text_only)]
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(iso_text_only)]


# One line of text people read (a staff member's or a provider's name): no control
# characters (PostgreSQL refuses NUL in text; escapes and bidi overrides garble screens).
ShortLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(clean_line),
]
EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254),
    AfterValidator(valid_email),
]
