from __future__ import annotations

from booking.errors import Conflict, NotFound


class ManageLinkInvalid(NotFound, slug="manage-link-invalid", title="This link does not work"): ...


class ManagedAppointmentClosed(
    Conflict, slug="appointment-closed", title="This appointment has ended"
): ...


class MoveNeedsAVisit(
    Conflict, slug="not-confirmed", title="Only a confirmed visit can be moved"
): ...
