"""Turn an outbox row into an RFC 5322 email: a text part, an HTML part, and a calendar file.

No reason code, reason detail or symptom is ever in the payload, so none can reach an email;
subjects are generic. Templates: Jinja2 with autoescape on and undefined variables as errors.
"""

from __future__ import annotations

import datetime as dt
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from booking.appointments.lifecycle import TRANSITIONS, Visit
from booking.config import Settings
from booking.notifications.calendar import CalendarMethod, build_calendar
from booking.notifications.models import Channel, OutboxMessage
from booking.waitlist.links import offer_url

_templates = Environment(
    loader=PackageLoader("booking.notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

SUBJECTS = {
    "request_received": "We received your appointment request ({reference})",
    "confirmed": "Your appointment at {practice} is confirmed",
    "rescheduled": "Your appointment at {practice} has moved",
    "declined": "About your appointment request at {practice}",
    "cancelled": "Your appointment at {practice} is cancelled",
    "new_request": "New appointment request {reference}",
    "patient_cancelled": "Cancelled by the patient: appointment {reference}",
    "reminder": "Reminder: your appointment at {practice}",
    "expired": "About your appointment request at {practice}",
    "digest": "Front desk digest for {day}",
    "offer": "An earlier appointment time at {practice}",
    "offer_gone": "The earlier time at {practice} was taken",
}
# A red-flag request must stand out in the desk's inbox: the word, never the symptom or name.
URGENT_PREFIX = "URGENT: "

# After these the request is closed: its link still shows it, read-only, with nothing to cancel.
CLOSING_EVENTS = frozenset(
    t.patient_email for t in TRANSITIONS.values() if t.patient_email and t.closes
)
# A calendar file goes with the emails of actions that set a visit time (a request), and with
# the one of the action that frees it, when there was a time (a cancellation).
BOOKING_EMAILS = frozenset(
    t.patient_email for t in TRANSITIONS.values() if t.patient_email and t.visit is Visit.books
)
FREEING_EMAILS = frozenset(
    t.patient_email for t in TRANSITIONS.values() if t.patient_email and t.visit is Visit.frees
)


def message_id(message: OutboxMessage, settings: Settings) -> str:
    """Fixed per outbox row: a resend after a crash is recognisably the same message."""
    domain = settings.mail_from.rpartition("@")[2] or "booking.local"
    return f"<{message.id}@{domain}>"


def subject_for(message: OutboxMessage, settings: Settings) -> str:
    """The one place subjects are built: generic, the reference at most, never a name."""
    payload = message.payload
    subject = SUBJECTS[message.event].format(
        reference=payload.get("reference", ""),
        practice=settings.practice_name,
        day=payload.get("digest", {}).get("day", ""),
    )
    if message.channel == Channel.desk_email and payload.get("urgent"):
        subject = URGENT_PREFIX + subject[0].lower() + subject[1:]
    return subject


def _when(value: str | None, zone: Any) -> dict[str, str] | None:
    if value is None:
        return None
    local = dt.datetime.fromisoformat(value).astimezone(zone)
    return {
        "start": f"{local:%A %-d %B %Y, %-I:%M %p} {local.tzname()}",
        "end_time": f"{local:%-I:%M %p}",
    }


def _digest_context(digest: dict[str, Any] | None) -> dict[str, Any] | None:
    if digest is None:
        return None
    hours = digest.get("oldest_waiting_hours")
    oldest = None
    if hours is not None:
        days, rest = divmod(hours, 24)
        oldest = ", ".join(
            f"{count} {unit}{'' if count == 1 else 's'}"
            for count, unit in ((days, "day"), (rest, "hour"))
            if count or (unit == "hour" and not days)
        )
    day = dt.date.fromisoformat(digest["day"])
    return {**digest, "day": f"{day:%A %-d %B %Y}", "oldest_waiting": oldest}


def _offer(payload: dict[str, Any], settings: Settings) -> dict[str, str] | None:
    """The time a waitlist offer holds, its deadline and its link (offer emails only)."""
    if "offer_id" not in payload:
        return None
    zone = settings.timezone
    when = _when(payload["offer_start"], zone)
    ends = _when(payload["offer_end"], zone)
    expires = _when(payload["offer_expires"], zone)
    assert when is not None
    assert ends is not None
    assert expires is not None
    return {
        "start": when["start"],
        "end_time": ends["end_time"],
        "expires": expires["start"],
        "url": offer_url(payload["offer_id"], settings),
    }


def build_email(message: OutboxMessage, *, settings: Settings, manage_url: str | None) -> Message:
    payload = message.payload
    zone = settings.timezone
    visit = _when(payload.get("start"), zone)
    if visit and payload.get("end"):
        visit["end_time"] = _when(payload["end"], zone)["end_time"]  # type: ignore[index]
    context = {
        "practice": {
            "name": settings.practice_name,
            "address": settings.practice_address,
            "phone": settings.practice_phone,
            "timezone": settings.practice_timezone,
        },
        # The desk's digest is about no one appointment: no reference, no visit.
        "reference": payload.get("reference", ""),
        "first_name": payload.get("first_name", ""),
        "visit": visit,
        "message": payload.get("message"),
        "manage_url": manage_url,
        "can_cancel": message.event not in CLOSING_EVENTS,
        "urgent": bool(payload.get("urgent")),
        "desk_url": (
            f"{settings.links_base_url}/desk/appointments/{payload['appointment_id']}"
            if "appointment_id" in payload
            else f"{settings.links_base_url}/desk"
        ),
        "book_url": f"{settings.links_base_url}/book",
        "digest": _digest_context(payload.get("digest")),
        "offer": _offer(payload, settings),
    }
    subject = subject_for(message, settings)
    context["subject"] = subject

    body = MIMEMultipart(
        "alternative",
        _subparts=[
            _text_part(_templates.get_template(f"{message.event}.txt.j2").render(context), "plain"),
            _text_part(_templates.get_template(f"{message.event}.html.j2").render(context), "html"),
        ],
    )
    method = None
    if message.event in BOOKING_EMAILS:
        method = CalendarMethod.request
    elif message.event in FREEING_EMAILS and payload.get("start"):
        method = CalendarMethod.cancel
    email: Message = body
    if method is not None:
        ics = build_calendar(
            method=method,
            appointment_id=payload["appointment_id"],
            sequence=int(payload["calendar_sequence"]),
            start=dt.datetime.fromisoformat(payload["start"]),
            end=dt.datetime.fromisoformat(payload["end"]),
            stamp=message.created_at,
            attendee_email=payload["email"],
            settings=settings,
        )
        calendar = _text_part(ics.decode(), "calendar")
        calendar.set_param("method", method.value)
        calendar.add_header("Content-Disposition", "attachment", filename="appointment.ics")
        email = MIMEMultipart("mixed", _subparts=[body, calendar])

    email["Subject"] = _header(subject)
    email["From"] = formataddr((settings.practice_name, settings.mail_from), "utf-8")
    email["To"] = (
        settings.front_desk_email if message.channel == Channel.desk_email else payload["email"]
    )
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message_id(message, settings)
    email["Auto-Submitted"] = "auto-generated"
    return email


# The email package's older API (compat32): the same RFC 5322 message as EmailMessage builds,
# at about a third of the CPU (EmailMessage parses every header it is given, and again when it
# writes them). Plain ASCII goes as 7bit, anything else as UTF-8 quoted-printable, so that the
# links in a text part stay readable in the raw message.
_UTF8 = Charset("utf-8")
_UTF8.header_encoding = QP
_UTF8.body_encoding = QP


def _text_part(text: str, subtype: str) -> MIMEText:
    if text.isascii():
        return MIMEText(text, subtype, "us-ascii")
    return MIMEText(text, subtype, _UTF8)  # type: ignore[arg-type]


def _header(value: str) -> str:
    return value if value.isascii() else Header(value, _UTF8).encode()
