"""FHIR searches, answered by the same services as the JSON API: the desk's list (its filters,
its keyset pages) for Appointment, availability for Slot. Every search pages by keyset: the
cursor names the last resource seen, so a slot booked (or a provider added) between two pages
moves nothing across a page boundary, as an offset would."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from booking.appointments import listing
from booking.appointments.lifecycle import STATUSES, AppointmentStatus
from booking.availability import service as availability
from booking.availability.service import Slot
from booking.config import Settings
from booking.errors import FieldError, RequestInvalid
from booking.fhir import resources
from booking.providers import service as providers
from booking.providers.models import Provider

# FHIR's Appointment.status codes (http://hl7.org/fhir/R4/valueset-appointmentstatus).
FHIR_APPOINTMENT_STATUSES = frozenset(
    {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    }
)

T = TypeVar("T")

_DATE_HINT = "must be a day (YYYY-MM-DD) after an optional prefix ge, gt, le, lt or eq"


@dataclass(frozen=True, slots=True)
class Days:
    """A range of practice-local days, both ends included; None is open-ended."""

    first: dt.date | None = None
    last: dt.date | None = None

    @property
    def empty(self) -> bool:
        return self.first is not None and self.last is not None and self.last < self.first


def parse_days(values: Sequence[str], parameter: str) -> Days:
    """FHIR date search values (``ge2026-12-01``, ``lt2026-12-08``, ``2026-12-03``), ANDed.

    Day precision only: a time of day is a 400 naming the parameter, not silently dropped."""
    first: dt.date | None = None
    last: dt.date | None = None
    for value in values:
        prefix, text = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
        try:
            day = dt.date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is None or prefix not in {"ge", "gt", "le", "lt", "eq"}:
            raise RequestInvalid([FieldError(f"query.{parameter}", _DATE_HINT)])
        low = day + dt.timedelta(days=1) if prefix == "gt" else day
        high = day - dt.timedelta(days=1) if prefix == "lt" else day
        if prefix in {"ge", "gt", "eq"}:
            first = low if first is None else max(first, low)
        if prefix in {"le", "lt", "eq"}:
            last = high if last is None else min(last, high)
    return Days(first, last)


def our_statuses(values: Sequence[str]) -> list[AppointmentStatus] | None:
    """Our statuses behind FHIR status codes (a comma is OR, as in FHIR); None for no filter.
    A valid FHIR status we never use matches nothing."""
    codes = {code for value in values for code in value.split(",")}
    if not codes:
        return None
    unknown = codes - FHIR_APPOINTMENT_STATUSES
    if unknown:
        raise RequestInvalid(
            [FieldError("query.status", "must be FHIR Appointment status codes, as in booked")]
        )
    return [status for status, info in STATUSES.items() if info.fhir in codes]


async def search_appointments(
    session: AsyncSession,
    *,
    days: Days,
    statuses: list[AppointmentStatus] | None,
    count: int,
    cursor: str | None,
    settings: Settings,
) -> listing.RowPage:
    """Appointments by visit day (then in time order, with a time only) or all of them, newest
    first; pages of ``count``."""
    if days.empty or statuses == []:
        return listing.RowPage([], None)
    by_day = days.first is not None or days.last is not None
    filters = listing.ListFilters(
        statuses=statuses or [], scheduled_from=days.first, scheduled_to=days.last
    )
    return await listing.list_appointments(
        session,
        filters=filters,
        order=listing.SortOrder.schedule if by_day else listing.SortOrder.newest,
        limit=count,
        cursor=cursor,
        timezone=settings.timezone,
    )


async def provider_names(
    session: AsyncSession, provider_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """The names of the providers these appointments name: one query for a page, none when no
    appointment on it has a provider yet (requests)."""
    wanted = {provider_id for provider_id in provider_ids if provider_id is not None}
    if not wanted:
        return {}
    statement = select(col(Provider.id), col(Provider.name)).where(col(Provider.id).in_(wanted))
    return {row.id: row.name for row in await session.execute(statement)}


# Without a start range, a Slot search looks a week ahead.
DEFAULT_SLOT_DAYS = 7


async def search_slots(
    session: AsyncSession,
    *,
    provider_id: uuid.UUID | None,
    days: Days,
    settings: Settings,
    now: dt.datetime,
    count: int,
    cursor: str | None,
) -> listing.Page[Slot]:
    """Free times of the slot grid's length (``BOOKING_SLOT_MINUTES``): what a visit of that
    length could take, as availability offers it to the desk; pages of ``count``, the cursor
    being the id of the last slot seen (booked since or not)."""
    after = resources.slot_order_of_id(cursor) if cursor is not None else None
    if cursor is not None and after is None:
        raise RequestInvalid([listing.CURSOR_INVALID])
    free = await _free_slots(
        session, provider_id=provider_id, days=days, settings=settings, now=now
    )
    return _page_after(free, count, resources.slot_order, after, resources.slot_id)


async def search_schedules(
    session: AsyncSession, *, count: int, cursor: str | None
) -> listing.Page[Provider]:
    """Every provider, oldest first, in pages of ``count``; the cursor is the last one's id
    (providers are deactivated, never deleted)."""
    every = await providers.list_providers(session)
    after = next((_oldest_first(p) for p in every if str(p.id) == cursor), None)
    if cursor is not None and after is None:
        raise RequestInvalid([listing.CURSOR_INVALID])
    return _page_after(every, count, _oldest_first, after, lambda provider: str(provider.id))


def _oldest_first(provider: Provider) -> tuple[dt.datetime, str]:
    return provider.created_at, str(provider.id)


def _page_after(
    items: list[T], count: int, order: Callable[[T], Any], after: Any, cursor_of: Callable[[T], str]
) -> listing.Page[T]:
    """The ``count`` items that come after ``after`` (None: from the first) in ``order``, of a
    short list computed whole; the next cursor names the page's last item."""
    following = sorted((item for item in items if after is None or order(item) > after), key=order)
    page = following[:count]
    return listing.Page(page, cursor_of(page[-1]) if len(following) > count else None)


async def _free_slots(
    session: AsyncSession,
    *,
    provider_id: uuid.UUID | None,
    days: Days,
    settings: Settings,
    now: dt.datetime,
) -> list[Slot]:
    today = now.astimezone(settings.timezone).date()
    first = max(days.first or today, today)
    last = days.last or first + dt.timedelta(days=DEFAULT_SLOT_DAYS - 1)
    if last < first:
        return []
    if (last - first).days > availability.MAX_RANGE_DAYS:
        raise RequestInvalid(
            [
                FieldError(
                    "query.start",
                    f"must span at most {availability.MAX_RANGE_DAYS + 1} days",
                )
            ]
        )
    # The providers read once: an unknown or inactive schedule matches nothing (no 404 for a
    # search), and availability's own provider check would read them again.
    bookable = [p.id for p in await providers.list_providers(session, active_only=True)]
    if provider_id is not None:
        bookable = [provider_id] if provider_id in bookable else []
    if not bookable:
        return []
    return await availability.free_slots(
        session,
        days=[first + dt.timedelta(days=n) for n in range((last - first).days + 1)],
        minutes=settings.slot_minutes,
        provider_ids=bookable,
        settings=settings,
        now=now,
    )


def schedule_id(value: str | None) -> uuid.UUID | None:
    """``Schedule/{id}`` (or the bare id) as the provider's id."""
    if value is None:
        return None
    try:
        return uuid.UUID(value.removeprefix("Schedule/"))
    except ValueError:
        raise RequestInvalid(
            [FieldError("query.schedule", "must be Schedule/{id} of a Schedule of this server")]
        ) from None


def row_of(model: Any) -> dict[str, Any]:
    """A model's columns by name, as a row's mapping reads."""
    return dict(model.model_dump())
