"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from booking.apikeys.models import ApiKey
from booking.appointments.models import Appointment, AppointmentEvent
from booking.db import metadata
from booking.idempotency.models import IdempotencyRecord
from booking.jobs.models import DeskDigest, VisitReminder
from booking.manage.models import ManageToken
from booking.notifications.models import OutboxMessage
from booking.providers.models import Provider, TimeOff, WorkingHours
from booking.staff.models import DeskSession, StaffAccount
from booking.waitlist.models import Offer

__all__ = [
    "ApiKey",
    "Appointment",
    "AppointmentEvent",
    "DeskDigest",
    "DeskSession",
    "IdempotencyRecord",
    "ManageToken",
    "Offer",
    "OutboxMessage",
    "Provider",
    "StaffAccount",
    "TimeOff",
    "VisitReminder",
    "WorkingHours",
    "metadata",
]
