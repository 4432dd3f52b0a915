"""The appointment's lifecycle, as data: its statuses, and one table of the actions that move
an appointment between them.

Everything else that knows about the lifecycle reads it from here: which actions a status
allows (the desk's buttons, the API's 409s), which statuses are open or closed (the patient's
link, the privacy purge), which have a visit time (the check constraint, the list's order),
what the patient is emailed and which webhook fires. Adding an action means one row here, one
step in ``service`` (``@step``) and a test.

This module imports nothing of the application: models, services and pages all build on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class AppointmentStatus(StrEnum):
    requested = "requested"
    confirmed = "confirmed"
    completed = "completed"
    no_show = "no_show"
    declined = "declined"
    cancelled = "cancelled"
    expired = "expired"


@dataclass(frozen=True, slots=True)
class StatusInfo:
    label: str  # as the desk and the patient's page show it
    fhir: str  # FHIR R4 Appointment.status, for integrators


STATUSES: dict[AppointmentStatus, StatusInfo] = {
    AppointmentStatus.requested: StatusInfo("Requested", "proposed"),
    AppointmentStatus.confirmed: StatusInfo("Confirmed", "booked"),
    AppointmentStatus.completed: StatusInfo("Completed", "fulfilled"),
    AppointmentStatus.no_show: StatusInfo("No-show", "noshow"),
    AppointmentStatus.declined: StatusInfo("Declined", "cancelled"),
    AppointmentStatus.cancelled: StatusInfo("Cancelled", "cancelled"),
    AppointmentStatus.expired: StatusInfo("Expired", "cancelled"),
}


class Action(StrEnum):
    confirm = "confirm"
    reschedule = "reschedule"
    decline = "decline"
    cancel = "cancel"
    complete = "complete"
    no_show = "no_show"
    expire = "expire"


class Visit(StrEnum):
    """What an action does to the visit's time."""

    none = "none"  # there is none, and the action makes none
    books = "books"  # sets it: the status needs a time and a provider
    keeps = "keeps"  # the status after it still has the visit (completed, no-show)
    frees = "frees"  # kept on record, no longer blocks the provider's time


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    event: str  # the audit trail's name for the change, and the key of its notifications
    from_statuses: frozenset[AppointmentStatus]
    to_status: AppointmentStatus
    visit: Visit
    slug: str  # the path segment: /api/v1/appointments/{id}/{slug}, /desk/appointments/{id}/{slug}
    label: str  # the desk's button
    notice: str  # what the desk says once it is done
    desk_form: str  # the desk form it is posted from (complete and no-show share one)
    heading: str  # that form's heading
    patient_email: str | None  # the template the patient is sent, if any
    webhook_event: str
    # The API's operation.
    operation_id: str
    summary: str
    description: str
    # Taken by the scheduler only (booking.jobs): no API route, no desk button.
    by_system: bool = False

    @property
    def closes(self) -> bool:
        """After it nothing can change the appointment any more."""
        return self.to_status in CLOSED_STATUSES


def _from(*statuses: AppointmentStatus) -> frozenset[AppointmentStatus]:
    return frozenset(statuses)


_REQUESTED, _CONFIRMED = AppointmentStatus.requested, AppointmentStatus.confirmed

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        Transition(
            Action.confirm, "confirmed", _from(_REQUESTED), _CONFIRMED, Visit.books,
            slug="confirm", label="Confirm", desk_form="confirm",
            heading="Confirm with a time",
            notice="Confirmed. The patient gets an email with a calendar file.",
            patient_email="confirmed", webhook_event="appointment.confirmed",
            operation_id="confirmAppointment", summary="Confirm a request with a time",
            description="Book the visit: `requested` → `confirmed`. The time must be in the "
            "future (422 otherwise);\nthe duration defaults from the reason code. 409 "
            "`outside-working-hours` when the visit\ndoes not fit the provider's working hours "
            "or falls in their time off; 409 `slot-taken`\nwhen it overlaps another confirmed "
            "visit of the same provider (back-to-back is fine).",
        ),
        Transition(
            Action.reschedule, "rescheduled", _from(_CONFIRMED), _CONFIRMED, Visit.books,
            slug="reschedule", label="Move", desk_form="reschedule",
            heading="Move to another time",
            notice="Moved. The patient gets an email with the new time.",
            patient_email="rescheduled", webhook_event="appointment.rescheduled",
            operation_id="rescheduleAppointment", summary="Move a confirmed visit",
            description="A new time for a `confirmed` visit, with the same provider; same "
            "rules as confirm.",
        ),
        Transition(
            Action.decline, "declined", _from(_REQUESTED), AppointmentStatus.declined, Visit.none,
            slug="decline", label="Decline", desk_form="decline",
            heading="Decline",
            notice="Declined. The patient gets an email.",
            patient_email="declined", webhook_event="appointment.declined",
            operation_id="declineAppointment", summary="Decline a request",
            description="`requested` → `declined`, with a reason.",
        ),
        Transition(
            Action.cancel, "cancelled", _from(_REQUESTED, _CONFIRMED),
            AppointmentStatus.cancelled, Visit.frees,
            slug="cancel", label="Cancel the appointment", desk_form="cancel",
            heading="Cancel",
            notice="Cancelled. The patient gets an email.",
            patient_email="cancelled", webhook_event="appointment.cancelled",
            operation_id="cancelAppointment", summary="Cancel a request or a visit",
            description="`requested` or `confirmed` → `cancelled`, with a reason; the time is "
            "freed.",
        ),
        Transition(
            Action.complete, "completed", _from(_CONFIRMED), AppointmentStatus.completed,
            Visit.keeps, slug="complete", label="Completed", desk_form="visit",
            heading="After the visit",
            notice="Marked as completed.",
            patient_email=None, webhook_event="appointment.completed",
            operation_id="completeAppointment", summary="Mark a visit completed",
            description="`confirmed` → `completed`, once the visit's time has come.",
        ),
        Transition(
            Action.no_show, "no_show", _from(_CONFIRMED), AppointmentStatus.no_show, Visit.keeps,
            slug="no-show", label="No-show", desk_form="visit",
            heading="After the visit",
            notice="Marked as a no-show.",
            patient_email=None, webhook_event="appointment.no_show",
            operation_id="markNoShow", summary="Mark a visit as a no-show",
            description="`confirmed` → `no_show`, once the visit's time has come.",
        ),
        Transition(
            Action.expire, "expired", _from(_REQUESTED), AppointmentStatus.expired, Visit.none,
            slug="expire", label="Expire", desk_form="", heading="",
            notice="Expired: nobody answered in time, or every preferred day has passed.",
            patient_email="expired", webhook_event="appointment.expired",
            operation_id="", summary="A request nobody answered in time",
            description="`requested` → `expired`, by the scheduler (BOOKING_REQUEST_EXPIRY_DAYS "
            "after the request, or once every preferred day has passed).",
            by_system=True,
        ),
    )
}  # fmt: skip

# A new request is not a transition (it has no "from"), but it is told like one.
INITIAL_STATUS = AppointmentStatus.requested
CREATED = "created"
CREATED_PATIENT_EMAIL = "request_received"
CREATED_WEBHOOK_EVENT = "appointment.requested"


@dataclass(frozen=True, slots=True)
class Recorded:
    """A change recorded in the history that is not a move between statuses (the status stays):
    told like a transition, through ``service.record``."""

    event: str  # the audit trail's name, and the key of its notifications
    patient_email: str | None
    webhook_event: str


RECORDED: dict[str, Recorded] = {
    r.event: r
    for r in (
        # The waitlist (booking.waitlist): a freed time offered, gone to someone else, expired.
        Recorded("offer_sent", "offer", "appointment.offer_sent"),
        Recorded("offer_gone", "offer_gone", "appointment.offer_gone"),
        Recorded("offer_expired", None, "appointment.offer_expired"),
        # A confirmed patient asks for other days through their link.
        Recorded("move_requested", None, "appointment.move_requested"),
    )
}

# --- derived: nothing below is written by hand -------------------------------------------------

# What people do (the API's routes, the desk's buttons): all but the scheduler's actions.
PEOPLES_TRANSITIONS = tuple(t for t in TRANSITIONS.values() if not t.by_system)
BY_SLUG: dict[str, Transition] = {t.slug: t for t in PEOPLES_TRANSITIONS}


def _in_status_order(statuses: set[AppointmentStatus]) -> tuple[AppointmentStatus, ...]:
    return tuple(status for status in AppointmentStatus if status in statuses)


# Open: some action can still change it. Closed: the end of the road (privacy may purge it).
OPEN_STATUSES = _in_status_order({s for t in TRANSITIONS.values() for s in t.from_statuses})
CLOSED_STATUSES = _in_status_order(set(AppointmentStatus) - set(OPEN_STATUSES))

# A visit time and a provider are required in these (the model's check constraint says so).
SCHEDULED_STATUSES = _in_status_order(
    {t.to_status for t in TRANSITIONS.values() if t.visit in (Visit.books, Visit.keeps)}
)

# The patient's email and the webhook event of each change, by its audit-trail name.
_TOLD: tuple[Transition | Recorded, ...] = (*TRANSITIONS.values(), *RECORDED.values())
PATIENT_EMAIL_FOR: dict[str, str] = {CREATED: CREATED_PATIENT_EMAIL} | {
    t.event: t.patient_email for t in _TOLD if t.patient_email
}
WEBHOOK_EVENT_FOR: dict[str, str] = {CREATED: CREATED_WEBHOOK_EVENT} | {
    t.event: t.webhook_event for t in _TOLD
}


def allowed_actions(status: str) -> list[Transition]:
    """The actions people may take on an appointment in this status, in the table's order."""
    return [t for t in PEOPLES_TRANSITIONS if status in t.from_statuses]


def is_open(status: str, end_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Still to be dealt with: the status allows a change and the visit, if any, is not over
    (the board's "open" view says the same in SQL: listing._conditions)."""
    return status in OPEN_STATUSES and (end_at is None or end_at > now)


def visit_has_begun(start_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether an action that records what happened at the visit (``Visit.keeps``: completed,
    no-show) may be taken: not before the visit's time has come."""
    return start_at is None or start_at <= now


def actions_offered(
    status: str, start_at: dt.datetime | None, now: dt.datetime
) -> list[Transition]:
    """The actions to offer now: those the status allows, less those that record what happened
    at a visit that has not begun yet."""
    return [
        t
        for t in allowed_actions(status)
        if t.visit is not Visit.keeps or visit_has_begun(start_at, now)
    ]
