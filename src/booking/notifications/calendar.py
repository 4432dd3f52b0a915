"""Calendar files (.ics) for confirmed, moved and cancelled visits (RFC 5546 iTIP)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from icalendar import Calendar, Event, vCalAddress

from booking.config import Settings


class CalendarMethod(StrEnum):
    request = "REQUEST"
    cancel = "CANCEL"


def calendar_uid(appointment_id: str) -> str:
    """One UID per appointment, so that every update replaces the same calendar entry."""
    return f"{appointment_id}@booking"


def build_calendar(
    *,
    method: CalendarMethod,
    appointment_id: str,
    sequence: int,
    start: dt.datetime,
    end: dt.datetime,
    stamp: dt.datetime,
    attendee_email: str,
    settings: Settings,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//booking//appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method.value)
    event = Event()
    event.add("uid", calendar_uid(appointment_id))
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("dtstart", start.astimezone(dt.UTC))
    event.add("dtend", end.astimezone(dt.UTC))
    # Generic on purpose: calendars are shared and synced; the reason for the visit stays out.
    event.add("summary", f"Appointment at {settings.practice_name}")
    event.add("location", settings.practice_address)
    event.add("status", "CANCELLED" if method is CalendarMethod.cancel else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{settings.mail_from}")
    organizer.params["cn"] = settings.practice_name
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    attendee.params["role"] = "REQ-PARTICIPANT"
    event.add("attendee", attendee)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
