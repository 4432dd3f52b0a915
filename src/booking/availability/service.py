"""Free times, suggestions for a request, and the schedule of visits.

Every computation reads its rows in a fixed number of queries, whatever the range: the
providers' templates (one), their time off (one) and the visits (one); the slot grid is walked
in Python against those rows, never one query per slot.

Free start times lie on a grid of BOOKING_SLOT_MINUTES from the start of each working period
(08:00, 08:15, ...), inside the provider's hours, outside their time off and their confirmed
visits (each widened by BOOKING_VISIT_BUFFER_MINUTES on both sides), and after now. Days are
practice-local: a day on which the clocks change is 23 or 25 hours long, and its working hours
are still its wall-clock hours.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.appointments import service as appointments
from booking.appointments.errors import InvalidTransition
from booking.appointments.lifecycle import TRANSITIONS, Action
from booking.appointments.models import (
    SCHEDULED_STATUSES,
    Appointment,
    AppointmentStatus,
    PartOfDay,
)
from booking.appointments.reasons import REASONS, ReasonCode
from booking.clock import local_midnight
from booking.config import Settings
from booking.errors import FieldError, RequestInvalid
from booking.providers import service as providers

MAX_RANGE_DAYS = 31
MAX_SCHEDULE_DAYS = 7
# When no preferred window has room: how far after the last preferred day to look.
FALLBACK_DAYS = 14
NOON = dt.time(12, 0)
# The 409 of suggestions for a request that can no longer be booked, as the OpenAPI document
# shows it (``suggestions`` raises it with the request's own status).
NOT_BOOKABLE_EXAMPLE = InvalidTransition(
    current_status=AppointmentStatus.cancelled, action="booked"
)


@dataclass(frozen=True, slots=True)
class Slot:
    provider_id: uuid.UUID
    start_at: dt.datetime
    end_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Suggestion:
    slot: Slot
    window_index: int | None  # None: after the patient's preferred days


# --- free times --------------------------------------------------------------------------------


async def availability(
    session: AsyncSession,
    *,
    first_day: dt.date,
    last_day: dt.date,
    duration_minutes: int,
    provider_id: uuid.UUID | None,
    settings: Settings,
    now: dt.datetime,
) -> list[Slot]:
    """Free start times from ``first_day`` to ``last_day`` (both included, practice-local), of
    one provider or of every active one, in time order."""
    if last_day < first_day:
        raise RequestInvalid([FieldError("query.to", "must be on or after from")])
    if (last_day - first_day).days > MAX_RANGE_DAYS:
        raise RequestInvalid(
            [FieldError("query.to", f"must be at most {MAX_RANGE_DAYS} days after from")]
        )
    provider_ids = await _bookable_providers(session, provider_id)
    days = [first_day + dt.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    return await free_slots(
        session,
        days=days,
        minutes=duration_minutes,
        provider_ids=provider_ids,
        settings=settings,
        now=now,
    )


async def free_slots(
    session: AsyncSession,
    *,
    days: Sequence[dt.date],
    minutes: int,
    provider_ids: Sequence[uuid.UUID],
    settings: Settings,
    now: dt.datetime,
    ignoring: uuid.UUID | None = None,
) -> list[Slot]:
    """Free starts on these days for these providers, in time order (then in the order the
    providers are given). ``ignoring``: an appointment whose own visit does not count (it is
    the one being moved)."""
    days = sorted(set(days))
    if not days or not provider_ids:
        return []
    zone = settings.timezone
    range_start = local_midnight(days[0], zone)
    range_end = local_midnight(days[-1] + dt.timedelta(days=1), zone)
    templates = await providers.weekly_templates(session, provider_ids, settings)
    blocked = await providers.time_off_between(session, provider_ids, range_start, range_end)
    buffer = dt.timedelta(minutes=settings.visit_buffer_minutes)
    for pid, starts, ends in await appointments.confirmed_visits(
        session, provider_ids, range_start - buffer, range_end + buffer, ignoring=ignoring
    ):
        blocked[pid].append((starts - buffer, ends + buffer))

    length = dt.timedelta(minutes=minutes)
    step = dt.timedelta(minutes=settings.slot_minutes)
    found: list[tuple[dt.datetime, int, Slot]] = []
    for order, pid in enumerate(provider_ids):
        busy = providers.merge_intervals(blocked[pid])
        at = 0  # the first busy interval that may still matter: starts only move forward
        for day in days:
            for begins, ends in providers.working_periods(templates[pid], day, settings):
                start = begins
                while start + length <= ends:
                    end = start + length
                    while at < len(busy) and busy[at][1] <= start:
                        at += 1
                    if start > now and (at == len(busy) or busy[at][0] >= end):
                        found.append((start, order, Slot(pid, start, end)))
                    start += step
    found.sort(key=lambda item: (item[0], item[1]))
    return [slot for _, _, slot in found]


async def _bookable_providers(
    session: AsyncSession, provider_id: uuid.UUID | None
) -> list[uuid.UUID]:
    if provider_id is not None:
        await providers.active_provider(session, provider_id, field="query.provider_id")
        return [provider_id]
    return [provider.id for provider in await providers.list_providers(session, active_only=True)]


# --- suggestions for a request -----------------------------------------------------------------


async def suggestions(
    session: AsyncSession,
    *,
    appointment_id: uuid.UUID,
    limit: int,
    settings: Settings,
    now: dt.datetime,
) -> list[Suggestion]:
    """Free times for a request inside the patient's preferred windows, earliest first and
    spread over the windows (the first of each window, then the second of each, ...); when
    none fits, the first free times after the last preferred day (window_index None).

    The visit length is the reason's default (a confirmed visit keeps its own length and its
    provider: the suggestions are then times to move it to).
    """
    appointment = await appointments.get_appointment(session, appointment_id)
    status = AppointmentStatus(appointment.status)
    # Times to move a visit to, or times to book a request at: what the lifecycle allows.
    if status in TRANSITIONS[Action.reschedule].from_statuses:
        assert appointment.provider_id is not None
        assert appointment.start_at is not None
        assert appointment.end_at is not None
        provider_ids = [appointment.provider_id]
        minutes = int((appointment.end_at - appointment.start_at).total_seconds() // 60)
    elif status in TRANSITIONS[Action.confirm].from_statuses:
        provider_ids = await _bookable_providers(session, None)
        minutes = REASONS[ReasonCode(appointment.reason_code)].default_duration_minutes
    else:
        raise InvalidTransition(current_status=status, action="booked")

    windows = preferred_windows(appointment.preferred_windows)
    zone = settings.timezone
    slots = await free_slots(
        session,
        days=[day for day, _ in windows],
        minutes=minutes,
        provider_ids=provider_ids,
        settings=settings,
        now=now,
        ignoring=appointment.id,
    )
    in_window: list[list[Slot]] = [[] for _ in windows]
    for slot in slots:
        local = slot.start_at.astimezone(zone)
        for index, (day, part) in enumerate(windows):
            if local.date() == day and in_part_of_day(local.time(), part):
                in_window[index].append(slot)
    picked = _spread([_one_per_start(found) for found in in_window], limit)
    if picked:
        order = {pid: n for n, pid in enumerate(provider_ids)}
        return sorted(picked, key=lambda s: (s.slot.start_at, order[s.slot.provider_id]))

    today = now.astimezone(zone).date()
    after = max([today, *(day + dt.timedelta(days=1) for day, _ in windows)])
    later = await free_slots(
        session,
        days=[after + dt.timedelta(days=n) for n in range(FALLBACK_DAYS)],
        minutes=minutes,
        provider_ids=provider_ids,
        settings=settings,
        now=now,
        ignoring=appointment.id,
    )
    return [Suggestion(slot, None) for slot in _one_per_start(later)[:limit]]


def preferred_windows(stored: Any) -> list[tuple[dt.date, PartOfDay]]:
    """A request's preferred windows as stored (JSON): (practice-local day, part of the day)."""
    return [
        (dt.date.fromisoformat(window["date"]), PartOfDay(window["part_of_day"]))
        for window in stored or []
    ]


def in_part_of_day(local: dt.time, part: PartOfDay) -> bool:
    """Whether a practice-local time of day is in the part: mornings end at noon."""
    if part == PartOfDay.morning:
        return local < NOON
    if part == PartOfDay.afternoon:
        return local >= NOON
    return True


def _one_per_start(slots: list[Slot]) -> list[Slot]:
    """One slot per start time (the first provider free then): different times to offer."""
    seen: set[dt.datetime] = set()
    kept = []
    for slot in slots:
        if slot.start_at not in seen:
            seen.add(slot.start_at)
            kept.append(slot)
    return kept


def _spread(per_window: list[list[Slot]], limit: int) -> list[Suggestion]:
    """The first of each window, then the second of each, ... up to ``limit``."""
    picked: list[Suggestion] = []
    taken: set[tuple[uuid.UUID, dt.datetime]] = set()
    depth = 0
    while len(picked) < limit and any(depth < len(found) for found in per_window):
        for index, found in enumerate(per_window):
            if depth < len(found) and len(picked) < limit:
                slot = found[depth]
                if (slot.provider_id, slot.start_at) not in taken:
                    taken.add((slot.provider_id, slot.start_at))
                    picked.append(Suggestion(slot, index))
        depth += 1
    return picked


# --- the schedule ------------------------------------------------------------------------------


async def schedule(
    session: AsyncSession,
    *,
    first_day: dt.date,
    days: int,
    provider_id: uuid.UUID | None,
    settings: Settings,
) -> list[dict[str, Any]]:
    """The visits with a time (confirmed, and completed or no-show once held) from the start
    of ``first_day`` for ``days`` practice-local days, in time order: one query."""
    zone = settings.timezone
    starts = local_midnight(first_day, zone)
    ends = local_midnight(first_day + dt.timedelta(days=days), zone)
    statement = (
        select(
            col(Appointment.id),
            col(Appointment.reference),
            col(Appointment.provider_id),
            col(Appointment.start_at),
            col(Appointment.end_at),
            col(Appointment.status),
            col(Appointment.first_name),
            col(Appointment.last_name),
            col(Appointment.reason_code),
            col(Appointment.is_urgent),
        )
        .where(
            col(Appointment.status).in_(list(SCHEDULED_STATUSES)),
            col(Appointment.start_at) >= starts,
            col(Appointment.start_at) < ends,
        )
        .order_by(col(Appointment.start_at), col(Appointment.id))
    )
    if provider_id is not None:
        statement = statement.where(col(Appointment.provider_id) == provider_id)
    return [dict(row._mapping) for row in await session.execute(statement)]
