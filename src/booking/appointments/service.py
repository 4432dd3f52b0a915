"""The rules of appointment requests and their lifecycle.

Services add and flush; the request's transaction commits. Every change of an appointment goes
through ``perform`` (the API's actions, the desk's forms, the patient's link, scheduled jobs):
the row is locked, the transition checked against ``lifecycle.TRANSITIONS``, the action's step
applied and the change recorded in the audit trail, all in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.appointments.errors import (
    AppointmentNotFound,
    InvalidTransition,
    OutsideWorkingHours,
    PreconditionFailed,
    SlotTaken,
    VisitNotStarted,
)
from booking.appointments.lifecycle import (
    CREATED,
    INITIAL_STATUS,
    RECORDED,
    TRANSITIONS,
    Action,
    visit_has_begun,
)
from booking.appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EventSource,
    appointment_events,
    appointments_table,
)
from booking.appointments.reasons import REASONS, ReasonCode, ReasonInfo
from booking.appointments.schemas import (
    AppointmentCreate,
    ConfirmRequest,
    ReasonRequest,
    RescheduleRequest,
)
from booking.config import Settings
from booking.errors import FieldError, RequestInvalid
from booking.idempotency import service as idempotency
from booking.insert_chain import InsertChain, Link
from booking.notifications import service as notifications
from booking.notifications.models import outbox_messages
from booking.providers import service as providers

logger = logging.getLogger("booking.appointments")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit trail."""

    source: EventSource
    staff_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None  # a machine's change through the API (source api)

    @classmethod
    def staff(cls, staff_id: uuid.UUID, source: EventSource = EventSource.api) -> Actor:
        return cls(source=source, staff_id=staff_id)


PUBLIC_FORM = Actor(source=EventSource.api)
SYSTEM = Actor(source=EventSource.system)  # the scheduler (booking.jobs)
PATIENT = Actor(source=EventSource.patient)  # through their link or an offer's


@dataclass(slots=True)
class Change:
    """What an action did, beyond the status: recorded with the event."""

    reason: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    message_to_patient: str | None = None
    # Added to the patient's email (e.g. the time an offer holds): ids and times, no health data.
    email_fields: dict[str, object] = field(default_factory=dict)


# No 0/O, 1/I/L, U or 5/S look-alikes: easy to read out on the phone. 28**8 ≈ 3.8e11 codes.
REFERENCE_ALPHABET = "2346789ABCDEFGHJKMNPQRTVWXYZ"
_REFERENCE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class CreatedAppointment:
    """What the patient is told: the new request's id, reference and advice."""

    id: uuid.UUID
    reference: str
    is_urgent: bool
    created_at: dt.datetime
    advisory: str | None
    # The "we received your request" email was not queued: the address reached its daily cap.
    receipt_skipped: bool = False
    # What ``respond`` made of it (stored under the Idempotency-Key when there is one).
    response: idempotency.StoredResponse | None = None


def list_reasons() -> list[ReasonInfo]:
    return list(REASONS.values())


def new_reference() -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def advisory_for(request: AppointmentCreate, settings: Settings) -> str | None:
    """What the patient must read right away, before anyone from the practice calls back."""
    parts = []
    if request.urgent_symptoms:
        parts.append(
            "Some of the symptoms you told us about can be serious. Please do not wait for our "
            f"call: go to an emergency department now or call {settings.emergency_number}."
        )
    if request.reason_code == ReasonCode.mood_related_pain:
        parts.append(
            "If you are struggling or thinking about harming yourself, you can reach "
            f"{settings.crisis_line} at any time, day or night. In an emergency call "
            f"{settings.emergency_number}."
        )
    return " ".join(parts) or None


def _new_request_chain(keyed: bool, outbox: tuple[bool, ...], receipt_cap: int) -> InsertChain:
    """The public POST's one write: [the key record,] the appointment, its audit event and its
    outbox rows (``outbox``: whether each is the capped receipt); everything after the
    appointment is inserted only when it was."""
    shape = (keyed, outbox, receipt_cap)
    chain = _NEW_REQUEST_CHAINS.get(shape)
    if chain is None:
        first = [idempotency.CLAIM_LINK] if keyed else []
        anchor = len(first)
        # No conflict rule for the reference: a clash must undo the key record too.
        appointment = Link(appointments_table, _APPOINTMENT_COLUMNS)
        message = Link(outbox_messages, _OUTBOX_COLUMNS, after=anchor)
        receipt = replace(message, when=notifications.receipt_under_cap(receipt_cap))
        chain = InsertChain(
            [
                *first,
                replace(appointment, after=0) if keyed else appointment,
                Link(appointment_events, _EVENT_COLUMNS, after=anchor),
                *[receipt if capped else message for capped in outbox],
            ]
        )
        _NEW_REQUEST_CHAINS[shape] = chain
    return chain


_NEW_REQUEST_CHAINS: dict[tuple[bool, tuple[bool, ...], int], InsertChain] = {}
_APPOINTMENT_COLUMNS = tuple(column.name for column in appointments_table.columns)
_EVENT_COLUMNS = tuple(column.name for column in appointment_events.columns)
_OUTBOX_COLUMNS = (
    "id", "channel", "event", "target", "appointment_id", "appointment_version", "payload",
    "status", "attempts", "next_attempt_at", "created_at", "recipient_hash",
)  # fmt: skip


async def create_appointment(
    session: AsyncSession,
    *,
    request: AppointmentCreate,
    settings: Settings,
    now: dt.datetime,
    actor: Actor = PUBLIC_FORM,
    keyed: idempotency.KeyedRequest | None = None,
    respond: Callable[[CreatedAppointment], idempotency.StoredResponse] | None = None,
) -> CreatedAppointment | idempotency.StoredResponse:
    """Store a patient's request: one statement on PostgreSQL, a few on SQLite (insert_chain).

    With ``keyed``, the Idempotency-Key record goes in with the request, holding the response
    ``respond`` makes of it; when the key is taken, the stored response comes back instead (or
    IdempotencyKeyReused / IdempotencyKeyInUse). Plain dictionaries, not models: these rows are
    written once and never read back in this request.
    """
    patient = request.patient
    appointment_id = uuid.uuid4()
    appointment: dict[str, Any] = {
        "id": appointment_id,
        "status": INITIAL_STATUS,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "email": patient.email,
        "phone": patient.phone,
        "date_of_birth": patient.date_of_birth,
        "is_new_patient": patient.is_new_patient,
        "reason_code": request.reason_code,
        "reason_detail": request.reason_detail,
        "preferred_windows": [
            window.model_dump(mode="json") for window in request.preferred_windows
        ],
        "last_preferred_date": max(window.date for window in request.preferred_windows),
        "contact_preference": request.contact_preference,
        "urgent_symptoms": [symptom.value for symptom in request.urgent_symptoms],
        "is_urgent": bool(request.urgent_symptoms),
        "earlier_if_possible": request.earlier_if_possible,
        "provider_id": None,
        "start_at": None,
        "end_at": None,
        "consent_at": now,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "anonymised_at": None,
        "calendar_sequence": 0,
        "move_requested_at": None,
    }
    event = {
        "id": uuid.uuid4(),
        "appointment_id": appointment_id,
        "version": 1,
        "occurred_at": now,
        "action": "created",
        "from_status": None,
        "to_status": INITIAL_STATUS,
        "reason": None,
        "source": actor.source,
        "actor_staff_id": actor.staff_id,
        "actor_api_key_id": actor.api_key_id,
        "details": {},
    }
    advisory = advisory_for(request, settings)
    cap = settings.receipts_per_address_per_day
    extra: dict[str, Any] = notifications.receipt_cap_parameters(patient.email, settings, now)
    if keyed is not None:
        extra |= idempotency.claim_parameters(now)
    created_notice = notifications.ChangeNotice(
        action=CREATED, source=actor.source, by_staff=actor.staff_id is not None
    )
    for _ in range(_REFERENCE_ATTEMPTS):
        appointment["reference"] = new_reference()
        outbox = notifications.notification_rows(
            appointment=appointment, notice=created_notice, settings=settings, now=now
        )
        capped = tuple(cap > 0 and row["recipient_hash"] is not None for row in outbox)
        created = CreatedAppointment(
            appointment_id, appointment["reference"], appointment["is_urgent"], now, advisory
        )
        if respond is not None:
            created = replace(created, response=respond(created))
        rows: list[dict[str, Any]] = [appointment, event, *outbox]
        if keyed is not None:
            assert created.response is not None, "a keyed request stores its response"
            rows.insert(0, idempotency.completed_record(keyed, created.response, now))
        chain = _new_request_chain(keyed is not None, capped, cap)
        try:
            inserted = await chain.run(session, rows, whole_write=True, extra=extra)
        except IntegrityError as error:
            # The reference clashed (about one in 10^11): nothing of this attempt stayed.
            await session.rollback()
            if "reference" not in str(error.orig):
                raise
            continue
        if keyed is not None and not inserted[0]:
            return await idempotency.stored_outcome(session, keyed)
        notifications.note_queued(session)
        receipt_skipped = any(
            not went_in
            for went_in, c in zip(inserted[len(rows) - len(outbox) :], capped, strict=True)
            if c
        )
        if receipt_skipped:
            # The request is stored and the desk told; only the patient's receipt is left out.
            logger.info(
                "request %s: receipt email skipped (address over its daily cap)",
                appointment["reference"],
            )
        return replace(created, receipt_skipped=receipt_skipped)
    raise RuntimeError("could not draw a free reference")


# --- reading ---------------------------------------------------------------------------------


async def get_appointment(session: AsyncSession, appointment_id: uuid.UUID) -> Appointment:
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None:
        raise AppointmentNotFound("No appointment with this id.")
    return appointment


async def list_events(session: AsyncSession, appointment_id: uuid.UUID) -> list[AppointmentEvent]:
    await get_appointment(session, appointment_id)
    statement = (
        select(AppointmentEvent)
        .where(col(AppointmentEvent.appointment_id) == appointment_id)
        .order_by(col(AppointmentEvent.version))
    )
    return list((await session.execute(statement)).scalars())


# --- changes: one entry point ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Everything about a change that is not the change itself: who makes it, when, under
    which settings, and which version they read (If-Match; None: whatever is current)."""

    actor: Actor
    settings: Settings
    now: dt.datetime
    expected_version: int | None = None
    # Recorded with the event on top of what the step says (e.g. the offer a patient accepted).
    details: dict[str, object] = field(default_factory=dict)


# One step per action: what the action does beyond the status (lifecycle.TRANSITIONS has the
# status rules). It receives the locked appointment and the action's command, if it has one.
Step = Callable[[AsyncSession, ActionContext, Appointment, Any], Awaitable[Change]]


@dataclass(frozen=True, slots=True)
class ActionStep:
    apply: Step
    command: type[BaseModel] | None  # the pydantic model its input is parsed into


STEPS: dict[Action, ActionStep] = {}

# What else must happen in the same transaction once an action is done, registered by the
# packages that build on appointments (the waitlist offers a cancelled visit's time).
FollowUp = Callable[[AsyncSession, ActionContext, Appointment, AppointmentStatus], Awaitable[None]]
FOLLOW_UPS: dict[Action, list[FollowUp]] = {}


def follow_up(action: Action) -> Callable[[FollowUp], FollowUp]:
    def register(then: FollowUp) -> FollowUp:
        FOLLOW_UPS.setdefault(action, []).append(then)
        return then

    return register


def step(action: Action, command: type[BaseModel] | None = None) -> Callable[[Step], Step]:
    """Registers the step of ``action``; the API, the desk and the patient's link find it here."""

    def register(apply: Step) -> Step:
        STEPS[action] = ActionStep(apply, command)
        return apply

    return register


async def perform(
    session: AsyncSession,
    ctx: ActionContext,
    action: Action,
    appointment_id: uuid.UUID,
    command: BaseModel | None = None,
) -> Appointment:
    """Change an appointment: the one way it happens, whoever asks.

    The row is locked, the version and the transition checked, the action's step applied, the
    version bumped, and the audit event and the notifications written with it, all in the
    caller's transaction.
    """
    transition = TRANSITIONS[action]
    action_step = STEPS[action]
    if action_step.command is not None and not isinstance(command, action_step.command):
        raise TypeError(f"{action} takes a {action_step.command.__name__}")
    appointment = await _locked(session, appointment_id)
    if ctx.expected_version is not None and ctx.expected_version != appointment.version:
        raise PreconditionFailed(current_version=appointment.version)
    from_status = AppointmentStatus(appointment.status)
    if from_status not in transition.from_statuses:
        raise InvalidTransition(
            current_status=from_status, action=transition.event.replace("_", " ")
        )

    change = await action_step.apply(session, ctx, appointment, command)
    change.details |= ctx.details
    appointment.status = transition.to_status
    appointment.version += 1
    appointment.updated_at = ctx.now
    _record(session, appointment, transition.event, from_status, ctx, change)
    # Read before the flush: a failed flush leaves the row unreadable until the rollback.
    visit = (appointment.start_at, appointment.end_at)
    try:
        await session.flush()
    except IntegrityError as error:
        if "no_overlapping_visits" in str(error.orig):
            start_at, end_at = visit
            assert start_at is not None
            assert end_at is not None
            raise SlotTaken(_slot_taken_detail(start_at, end_at, ctx.settings)) from None
        raise
    for then in FOLLOW_UPS.get(action, ()):
        await then(session, ctx, appointment, from_status)
    return appointment


async def record(
    session: AsyncSession,
    ctx: ActionContext,
    appointment_id: uuid.UUID,
    event: str,
    change: Change,
    *,
    allowed: Callable[[Appointment], None] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> Appointment:
    """A change that keeps the status (``lifecycle.RECORDED``: an offer, a move request): the row
    locked, the version bumped, the event and its notifications written, like ``perform``.

    ``allowed`` checks the locked row (raising a domain error to refuse), so that the rule is
    read as it stands, not as it stood before a concurrent change; ``fields`` are set on the
    row with the version, in the one UPDATE."""
    if event not in RECORDED:
        raise ValueError(f"{event} is not a recorded event")
    appointment = await _locked(session, appointment_id)
    if allowed is not None:
        allowed(appointment)
    for name, value in (fields or {}).items():
        setattr(appointment, name, value)
    appointment.version += 1
    appointment.updated_at = ctx.now
    _record(session, appointment, event, AppointmentStatus(appointment.status), ctx, change)
    await session.flush()
    return appointment


async def _locked(session: AsyncSession, appointment_id: uuid.UUID) -> Appointment:
    statement = (
        select(Appointment)
        .where(col(Appointment.id) == appointment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    appointment = (await session.execute(statement)).scalar_one_or_none()
    if appointment is None:
        raise AppointmentNotFound("No appointment with this id.")
    return appointment


@step(Action.confirm, ConfirmRequest)
async def _confirm(
    session: AsyncSession, ctx: ActionContext, appointment: Appointment, command: ConfirmRequest
) -> Change:
    provider = await providers.choose_provider(session, command.provider_id)
    minutes = (
        command.duration_minutes
        or REASONS[ReasonCode(appointment.reason_code)].default_duration_minutes
    )
    await _book(session, appointment, provider.id, command.start, minutes, ctx)
    return Change(
        details={**_visit_details(appointment), "message": command.message},
        message_to_patient=command.message,
    )


@step(Action.reschedule, RescheduleRequest)
async def _reschedule(
    session: AsyncSession, ctx: ActionContext, appointment: Appointment, command: RescheduleRequest
) -> Change:
    assert appointment.provider_id is not None
    assert appointment.start_at is not None
    assert appointment.end_at is not None
    previous = _visit_details(appointment)
    minutes = command.duration_minutes or _minutes(appointment.end_at - appointment.start_at)
    await _book(session, appointment, appointment.provider_id, command.start, minutes, ctx)
    appointment.calendar_sequence += 1
    appointment.move_requested_at = None  # whatever the patient asked for, the desk has moved it
    return Change(details={**_visit_details(appointment), "previous_start": previous["start"]})


@step(Action.decline, ReasonRequest)
async def _decline(
    session: AsyncSession, ctx: ActionContext, appointment: Appointment, command: ReasonRequest
) -> Change:
    return Change(reason=command.reason)


@step(Action.cancel, ReasonRequest)
async def _cancel(
    session: AsyncSession, ctx: ActionContext, appointment: Appointment, command: ReasonRequest
) -> Change:
    # The time stays on record (the calendar cancellation names it); it no longer blocks.
    if appointment.start_at is not None:
        appointment.calendar_sequence += 1
    return Change(reason=command.reason, details=_visit_details(appointment))


@step(Action.expire, ReasonRequest)
async def _expire(
    session: AsyncSession, ctx: ActionContext, appointment: Appointment, command: ReasonRequest
) -> Change:
    # Taken by the scheduler (booking.jobs) only; the reason tells the desk why.
    return Change(reason=command.reason)


@step(Action.complete)
@step(Action.no_show)
async def _after_the_visit_began(
    session: AsyncSession, ctx: ActionContext, appointment: Appointment, command: None
) -> Change:
    if not visit_has_begun(appointment.start_at, ctx.now):
        raise VisitNotStarted("Mark the visit once its time has come.")
    return Change()


async def _book(
    session: AsyncSession,
    appointment: Appointment,
    provider_id: uuid.UUID,
    start: dt.datetime,
    minutes: int,
    ctx: ActionContext,
) -> None:
    start_at = start.astimezone(dt.UTC)
    end_at = start_at + dt.timedelta(minutes=minutes)
    if start_at <= ctx.now:
        raise RequestInvalid([FieldError("start", "must be in the future")])
    await check_working_time(session, provider_id, start_at, end_at, ctx.settings)
    # A friendly answer first; the constraint (or trigger) is the guarantee under concurrency.
    if await confirmed_visits(session, [provider_id], start_at, end_at, ignoring=appointment.id):
        raise SlotTaken(_slot_taken_detail(start_at, end_at, ctx.settings))
    appointment.provider_id = provider_id
    appointment.start_at = start_at
    appointment.end_at = end_at


async def confirmed_visits(
    session: AsyncSession,
    provider_ids: Sequence[uuid.UUID],
    start_at: dt.datetime,
    end_at: dt.datetime,
    *,
    ignoring: uuid.UUID | None = None,
) -> list[tuple[uuid.UUID, dt.datetime, dt.datetime]]:
    """(provider, start, end) of the confirmed visits of these providers that overlap
    [start_at, end_at), in one query: what a booking may not overlap (``ignoring``: the visit
    being moved), and what availability leaves out."""
    statement = select(
        col(Appointment.provider_id), col(Appointment.start_at), col(Appointment.end_at)
    ).where(
        col(Appointment.status) == AppointmentStatus.confirmed,
        col(Appointment.provider_id).in_(list(provider_ids)),
        col(Appointment.start_at) < end_at,
        col(Appointment.end_at) > start_at,
    )
    if ignoring is not None:
        statement = statement.where(col(Appointment.id) != ignoring)
    # Confirmed visits always have a provider and a time (the model's check constraint).
    return [tuple(row) for row in await session.execute(statement)]  # type: ignore[misc]


async def check_working_time(
    session: AsyncSession,
    provider_id: uuid.UUID,
    start_at: dt.datetime,
    end_at: dt.datetime,
    settings: Settings,
) -> None:
    """The visit fits inside one of the provider's working periods of its day (their template,
    or the practice's opening hours; never on a closed date) and in none of their time off.

    Read in the caller's transaction, with the overlap check, after taking the provider's
    diary FOR SHARE (``providers.lock_diary``): hours and time off cannot change under it.
    """
    await providers.lock_diary(session, provider_id, to_change_hours=False)
    day = start_at.astimezone(settings.timezone).date()
    template = (await providers.weekly_templates(session, [provider_id], settings))[provider_id]
    periods = providers.working_periods(template, day, settings)
    if not any(begins <= start_at and end_at <= ends for begins, ends in periods):
        zone = settings.timezone
        hours = ", ".join(
            f"{begins.astimezone(zone):%H:%M}-{ends.astimezone(zone):%H:%M}"
            for begins, ends in periods
        )
        when = _describe_time(start_at, end_at, settings)
        raise OutsideWorkingHours(
            f"{when} is outside this provider's working hours "
            f"({f'that day: {hours}' if hours else 'they do not work that day'})."
        )
    time_off = await providers.time_off_between(session, [provider_id], start_at, end_at)
    if time_off[provider_id]:
        when = _describe_time(start_at, end_at, settings)
        raise OutsideWorkingHours(f"{when} falls in this provider's time off.")


def _describe_time(start_at: dt.datetime, end_at: dt.datetime, settings: Settings) -> str:
    """A visit's time as the desk reads it (no patient data: this goes into problem details)."""
    zone = settings.timezone
    start, end = start_at.astimezone(zone), end_at.astimezone(zone)
    return f"{start:%A %-d %B %Y, %H:%M}-{end:%H:%M} ({settings.practice_timezone})"


def _slot_taken_detail(start_at: dt.datetime, end_at: dt.datetime, settings: Settings) -> str:
    return (
        "Another confirmed visit of this provider overlaps "
        f"{_describe_time(start_at, end_at, settings)}."
    )


def _record(
    session: AsyncSession,
    appointment: Appointment,
    event: str,
    from_status: AppointmentStatus,
    ctx: ActionContext,
    change: Change,
) -> None:
    """The audit event and the notifications of one change: always together, in one place."""
    notice = notifications.ChangeNotice(
        action=event,
        source=ctx.actor.source,
        by_staff=ctx.actor.staff_id is not None,
        message_to_patient=change.message_to_patient,
        email_fields=change.email_fields,
    )
    notifications.queue_notifications(
        session, appointment=appointment, notice=notice, settings=ctx.settings, now=ctx.now
    )
    session.add(
        AppointmentEvent(
            appointment_id=appointment.id,
            version=appointment.version,
            occurred_at=ctx.now,
            action=event,
            from_status=from_status,
            to_status=appointment.status,
            reason=change.reason,
            source=ctx.actor.source,
            actor_staff_id=ctx.actor.staff_id,
            actor_api_key_id=ctx.actor.api_key_id,
            details=change.details,
        )
    )


def _visit_details(appointment: Appointment) -> dict[str, object]:
    if appointment.start_at is None or appointment.end_at is None:
        return {}
    return {
        "start": appointment.start_at.isoformat(),
        "end": appointment.end_at.isoformat(),
        "provider_id": str(appointment.provider_id),
    }


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)
