"""Providers, their weekly working hours and their time off.

A provider with no template rows works the practice's opening hours (BOOKING_OPENING_HOURS) on
its open weekdays (BOOKING_OPEN_WEEKDAYS); BOOKING_CLOSED_DATES close everyone. The calendar
arithmetic (``working_periods``) is pure, so that availability can run it for a month of days
on rows read in one query.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.config import Settings
from booking.errors import FieldError, NotFound, RequestInvalid
from booking.providers.models import Provider, TimeOff, WorkingHours

if TYPE_CHECKING:  # the schemas build on this module's WeeklyRange
    from booking.providers.schemas import TimeOffIn


async def list_providers(session: AsyncSession, *, active_only: bool = False) -> list[Provider]:
    """Every provider, or only those visits can be booked with, oldest first."""
    statement = select(Provider).order_by(col(Provider.created_at), col(Provider.id))
    if active_only:
        statement = statement.where(col(Provider.is_active))
    return list((await session.execute(statement)).scalars())


async def active_provider(
    session: AsyncSession, provider_id: uuid.UUID, *, field: str = "provider_id"
) -> Provider:
    """The provider with this id, if visits can be booked with them (422 on ``field`` if not)."""
    provider = await session.get(Provider, provider_id)
    if provider is None or not provider.is_active:
        raise RequestInvalid([FieldError(field, "is not an active provider")])
    return provider


async def add_provider(session: AsyncSession, *, name: str, now: dt.datetime) -> Provider:
    provider = Provider(name=name, created_at=now)
    session.add(provider)
    await session.flush()
    return provider


async def get_provider(session: AsyncSession, provider_id: uuid.UUID) -> Provider:
    provider = await session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("No provider with this id.")
    return provider


async def lock_diary(
    session: AsyncSession, provider_id: uuid.UUID, *, to_change_hours: bool
) -> bool:
    """Order a change of the provider's hours against the bookings checked against them.

    A booking takes the provider's row FOR SHARE (bookings do not wait for each other); a change
    of hours or time off takes it FOR UPDATE, and so waits for the bookings in flight and makes
    the next ones wait and then read the new hours. Without it, time off added while a clerk
    confirms could commit beside a visit inside it. (SQLite serializes writers anyway.)
    Returns whether the provider exists.
    """
    statement = (
        select(col(Provider.id))
        .where(col(Provider.id) == provider_id)
        .with_for_update(read=not to_change_hours)
    )
    return (await session.execute(statement)).first() is not None


async def _lock_for_change(session: AsyncSession, provider_id: uuid.UUID) -> None:
    if not await lock_diary(session, provider_id, to_change_hours=True):
        raise NotFound("No provider with this id.")


async def choose_provider(session: AsyncSession, provider_id: uuid.UUID | None) -> Provider:
    """The provider asked for, or the only active one when none is named."""
    if provider_id is not None:
        return await active_provider(session, provider_id)
    active = await list_providers(session, active_only=True)
    if len(active) != 1:
        raise RequestInvalid(
            [FieldError("provider_id", "is required when the practice has several providers")]
        )
    return active[0]


# --- working hours -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class WeeklyRange:
    """One range of a weekly template, in the practice's wall-clock time."""

    weekday: int  # 0 = Monday
    start: dt.time
    end: dt.time


Interval = tuple[dt.datetime, dt.datetime]  # [start, end), aware UTC


def practice_template(settings: Settings) -> list[WeeklyRange]:
    opens, closes = settings.opening_times
    return [WeeklyRange(day, opens, closes) for day in sorted(settings.open_weekday_numbers)]


async def weekly_templates(
    session: AsyncSession, provider_ids: Sequence[uuid.UUID], settings: Settings
) -> dict[uuid.UUID, list[WeeklyRange]]:
    """Each provider's template, in one query; the practice's hours for those without one."""
    found = await _stored_templates(session, provider_ids)
    default = practice_template(settings)
    return {pid: found.get(pid, default) for pid in provider_ids}


async def _stored_templates(
    session: AsyncSession, provider_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WeeklyRange]]:
    """The templates stored for these providers (those without one are left out), sorted."""
    statement = select(
        col(WorkingHours.provider_id),
        col(WorkingHours.weekday),
        col(WorkingHours.start_time),
        col(WorkingHours.end_time),
    ).where(col(WorkingHours.provider_id).in_(list(provider_ids)))
    found: dict[uuid.UUID, list[WeeklyRange]] = {}
    for provider_id, weekday, start, end in await session.execute(statement):
        found.setdefault(provider_id, []).append(WeeklyRange(weekday, start, end))
    return {pid: sorted(ranges) for pid, ranges in found.items()}


async def time_off_between(
    session: AsyncSession,
    provider_ids: Sequence[uuid.UUID],
    start_at: dt.datetime,
    end_at: dt.datetime,
) -> dict[uuid.UUID, list[Interval]]:
    """Each provider's time off overlapping [start_at, end_at), in one query, by start."""
    statement = (
        select(col(TimeOff.provider_id), col(TimeOff.start_at), col(TimeOff.end_at))
        .where(
            col(TimeOff.provider_id).in_(list(provider_ids)),
            col(TimeOff.start_at) < end_at,
            col(TimeOff.end_at) > start_at,
        )
        .order_by(col(TimeOff.start_at))
    )
    found: dict[uuid.UUID, list[Interval]] = {pid: [] for pid in provider_ids}
    for provider_id, starts, ends in await session.execute(statement):
        found[provider_id].append((starts, ends))
    return found


def working_periods(
    template: Iterable[WeeklyRange], day: dt.date, settings: Settings
) -> list[Interval]:
    """The provider's working time on one practice-local day, in UTC: touching ranges merged,
    nothing on a closed date. Wall-clock times become instants on that day's UTC offset, so a
    day on which the clocks change keeps its 08:00-17:00."""
    if day in settings.closed_dates:
        return []
    zone = settings.timezone
    return merge_intervals(
        (
            dt.datetime.combine(day, weekly.start, tzinfo=zone).astimezone(dt.UTC),
            dt.datetime.combine(day, weekly.end, tzinfo=zone).astimezone(dt.UTC),
        )
        for weekly in template
        if weekly.weekday == day.weekday()
    )


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping and touching intervals joined, in order: their ends then rise with their
    starts, so one pointer walks them."""
    merged: list[Interval] = []
    for starts, ends in sorted(intervals):
        if merged and starts <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(ends, merged[-1][1]))
        else:
            merged.append((starts, ends))
    return merged


def overlapping_ranges(ranges: Iterable[WeeklyRange]) -> list[tuple[WeeklyRange, WeeklyRange]]:
    """Pairs of ranges on the same weekday that overlap (touching is fine: 08-12 and 12-17)."""
    clashes: list[tuple[WeeklyRange, WeeklyRange]] = []
    by_day: dict[int, list[WeeklyRange]] = {}
    for weekly in ranges:
        by_day.setdefault(weekly.weekday, []).append(weekly)
    for day_ranges in by_day.values():
        ordered = sorted(day_ranges)
        clashes.extend(
            (before, after)
            for before, after in itertools.pairwise(ordered)
            if after.start < before.end
        )
    return clashes


@dataclass(frozen=True, slots=True)
class ProviderHours:
    weekly: list[WeeklyRange]
    uses_practice_hours: bool
    time_off: list[TimeOff]


async def get_hours(
    session: AsyncSession, *, provider_id: uuid.UUID, settings: Settings, now: dt.datetime
) -> ProviderHours:
    """The template in force (the practice's when the provider has none) and the time off
    that has not ended yet."""
    await get_provider(session, provider_id)
    stored = (await _stored_templates(session, [provider_id])).get(provider_id)
    uses_practice_hours = stored is None
    weekly = practice_template(settings) if stored is None else stored
    time_off = await session.execute(
        select(TimeOff)
        .where(col(TimeOff.provider_id) == provider_id, col(TimeOff.end_at) > now)
        .order_by(col(TimeOff.start_at), col(TimeOff.id))
    )
    return ProviderHours(weekly, uses_practice_hours, list(time_off.scalars()))


async def replace_weekly_hours(
    session: AsyncSession, *, provider_id: uuid.UUID, ranges: Sequence[WeeklyRange]
) -> None:
    """Replace the provider's template. An empty one means: the practice's opening hours.

    The schema refuses overlapping ranges; this checks again for callers other than the API.
    """
    await _lock_for_change(session, provider_id)
    if overlapping_ranges(ranges):
        raise RequestInvalid([FieldError("weekly", "ranges on the same day may not overlap")])
    await session.execute(delete(WorkingHours).where(col(WorkingHours.provider_id) == provider_id))
    session.add_all(
        WorkingHours(provider_id=provider_id, weekday=r.weekday, start_time=r.start, end_time=r.end)
        for r in ranges
    )
    await session.flush()


async def add_time_off(
    session: AsyncSession, *, provider_id: uuid.UUID, request: TimeOffIn, now: dt.datetime
) -> TimeOff:
    """Time off blocks new visits; visits already confirmed in it stay (the desk moves them).
    The API and the desk's form both send a validated ``TimeOffIn``."""
    await _lock_for_change(session, provider_id)
    time_off = TimeOff(
        provider_id=provider_id,
        start_at=request.start.astimezone(dt.UTC),
        end_at=request.end.astimezone(dt.UTC),
        reason=request.reason,
        created_at=now,
    )
    session.add(time_off)
    await session.flush()
    return time_off


async def remove_time_off(
    session: AsyncSession, *, provider_id: uuid.UUID, time_off_id: uuid.UUID
) -> None:
    time_off = await session.get(TimeOff, time_off_id)
    if time_off is None or time_off.provider_id != provider_id:
        raise NotFound("This provider has no time off with this id.")
    await session.delete(time_off)
    await session.flush()
