"""Rendering pages: one Jinja2 environment (autoescape on, undefined variables are errors)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from booking.appointments.lifecycle import STATUSES
from booking.appointments.models import PartOfDay
from booking.appointments.reasons import REASONS, UrgentSymptom
from booking.config import Settings

SYMPTOM_LABELS = {
    UrgentSymptom.bladder_or_bowel_changes: "New problems controlling your bladder or bowel",
    UrgentSymptom.saddle_numbness: "Numbness between your legs or around your bottom",
    UrgentSymptom.worsening_leg_weakness: "Weakness in your legs that is getting worse",
    UrgentSymptom.fever_with_back_pain: "Fever together with back pain",
    UrgentSymptom.recent_trauma: "A recent fall, accident or injury",
}

STATUS_LABELS: dict[str, str] = {status.value: info.label for status, info in STATUSES.items()}

PART_OF_DAY_LABELS = {
    PartOfDay.morning: "morning",
    PartOfDay.afternoon: "afternoon",
    PartOfDay.any: "any time",
}


def phone_link(number: str, text: str | None = None) -> Markup:
    """A tap-to-call link showing ``text`` (the number as given, by default); a tel: address
    holds only digits and +."""
    return Markup('<a href="tel:{}">{}</a>').format(re.sub(r"[^\d+]", "", number), text or number)


def national_phone(number: str, region: str) -> str:
    """A stored (E.164) number as the practice's region writes it: its national format for a
    number of that country, the international one for any other. Not a number: as it is."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    if parsed.country_code == phonenumbers.country_code_for_region(region):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def patient_phone_link(settings: Settings) -> Any:
    """``call_link(number)`` for pages: a tap-to-call link in the practice region's format."""
    region = settings.default_phone_region

    def call_link(number: str) -> Markup:
        return phone_link(number, national_phone(number, region))

    return call_link


def link_phone_number(text: str, number: str) -> Markup:
    """The text, escaped, with each mention of the number (not part of a longer one) a link."""
    mention = re.compile(rf"(?<![\d+]){re.escape(number)}(?!\d)")
    return phone_link(number).join(mention.split(text))  # join escapes each piece


_environment = Environment(
    loader=PackageLoader("booking.web", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default=True),
    undefined=StrictUndefined,
)
_environment.filters["symptom_label"] = lambda code: SYMPTOM_LABELS[UrgentSymptom(code)]
_environment.filters["phone_link"] = phone_link
_environment.filters["link_phone_number"] = link_phone_number
templates = Jinja2Templates(env=_environment)

# Pages may be framed only where settings allow (the hosted form); the desk never.
NO_FRAMING = {"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}


def local_time(settings: Settings) -> Any:
    zone = ZoneInfo(settings.practice_timezone)

    def format_local(value: dt.datetime | None) -> str:
        if value is None:
            return "-"
        local = value.astimezone(zone)
        return f"{local:%a %-d %b %Y, %-I:%M %p} {local.tzname()}"

    return format_local


def render(
    request: Request,
    name: str,
    settings: Settings,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    base = {
        "practice_name": settings.practice_name,
        "practice_phone": settings.practice_phone,
        "emergency_number": settings.emergency_number,
        "reasons": list(REASONS.values()),
        "reason_labels": {code.value: info.label for code, info in REASONS.items()},
        "status_labels": STATUS_LABELS,
        "part_of_day_labels": PART_OF_DAY_LABELS,
        "local": local_time(settings),
        "call_link": patient_phone_link(settings),
        "timezone": settings.practice_timezone,
    }
    response = templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status_code, headers=headers
    )
    assert isinstance(response, HTMLResponse)
    return response
