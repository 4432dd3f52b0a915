"""What can go wrong with an appointment, each with its status and problem type."""

from __future__ import annotations

from pydantic import BaseModel, Field

from booking.appointments.lifecycle import AppointmentStatus
from booking.errors import Conflict, DomainError, NotFound


class InvalidTransitionProblem(BaseModel):
    """The appointment's status made the action impossible."""

    current_status: AppointmentStatus


class PreconditionFailedProblem(BaseModel):
    """The appointment changed since it was read."""

    current_etag: str = Field(
        examples=['"3"'], description="The appointment's ETag now: read it again, then retry."
    )


class AppointmentNotFound(NotFound, slug="appointment-not-found", title="No such appointment"): ...


# As the service raises it, and as the document shows it.
APPOINTMENT_NOT_FOUND = AppointmentNotFound("No appointment with this id.")


class InvalidTransition(
    Conflict,
    slug="invalid-transition",
    title="The appointment's status does not allow this",
    members=InvalidTransitionProblem,
):
    def __init__(self, *, current_status: str, action: str) -> None:
        super().__init__(
            f"The appointment is {current_status}; it cannot be {action}.",
            current_status=current_status,
        )


class SlotTaken(
    Conflict, slug="slot-taken", title="The provider already has a visit at that time"
): ...


class OutsideWorkingHours(
    Conflict, slug="outside-working-hours", title="The provider does not work at that time"
): ...


class VisitNotStarted(
    Conflict, slug="visit-not-started", title="The visit has not started yet"
): ...


class PreconditionFailed(
    DomainError,
    status=412,
    slug="precondition-failed",
    title="The appointment changed since you read it",
    members=PreconditionFailedProblem,
):
    def __init__(self, *, current_version: int) -> None:
        super().__init__(
            "Someone else changed this appointment; reload it and try again.",
            current_etag=f'"{current_version}"',
        )
