"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from booking.appointments.models import Appointment
from booking.db import metadata
from booking.idempotency.models import IdempotencyRecord

__all__ = ["Appointment", "IdempotencyRecord", "metadata"]
