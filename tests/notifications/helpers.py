from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy import select

from booking.notifications.models import OutboxMessage
from booking.notifications.relay import Relay

# relay_named(name, settings=..., notifier=...), the fixture in tests/notifications/conftest.py.
RelayNamed = Callable[..., Relay]

MANAGE_LINK = re.compile(r"https://book\.spine\.example/manage/([A-Za-z0-9_-]{20,})")


def parts(message: EmailMessage) -> dict[str, Any]:
    """The text body, the HTML body and the calendar (parsed), by content type."""
    found: dict[str, Any] = {}
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/plain" and part.get_filename() is None:
            found["text"] = part.get_content()
        elif kind == "text/html":
            found["html"] = part.get_content()
        elif kind == "text/calendar":
            found["ics_method_param"] = part.get_param("method")
            found["calendar"] = Calendar.from_ical(part.get_content())
    return found


def manage_token(message: EmailMessage) -> str:
    match = MANAGE_LINK.search(parts(message)["text"])
    assert match, "no manage link in the email"
    return match.group(1)


def only(messages: list[EmailMessage], to: str) -> list[EmailMessage]:
    return [message for message in messages if message["To"] == to]


async def outbox(app: FastAPI) -> list[OutboxMessage]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage).order_by(OutboxMessage.created_at))
        return list(rows.scalars())


# The patient of tests/factories.appointment_request.
PATIENT = "ana.ruiz@example.com"


async def latest_token(relay: Relay, smtp_server: Any, to: str = PATIENT) -> str:
    """Deliver what is queued; the manage token of the last email to ``to``."""
    await relay.drain()
    return manage_token(only(smtp_server.messages, to)[-1])
