from __future__ import annotations

from booking.errors import DomainError


class ManageLinkInvalid(DomainError):
    status = 404
    slug = "manage-link-invalid"
    title = "This link does not work"


class ManagedAppointmentClosed(DomainError):
    status = 409
    slug = "appointment-closed"
    title = "This appointment has ended"
