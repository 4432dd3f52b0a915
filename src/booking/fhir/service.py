"""FHIR searches, answered by the same services as the JSON API: the desk's list (its filters,
its keyset pages) for Appointment, availability for Slot."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from booking.appointments import listing
from booking.appointments.lifecycle import STATUSES, AppointmentStatus
from booking.availability import service as availability
from booking.availability.service import Slot
from booking.config import Settings
from booking.errors import FieldError, RequestInvalid
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
) -> listing.Page:
    """Appointments by visit day (then in time order, with a time only) or all of them, newest
    first; pages of ``count``."""
    if days.empty or statuses == []:
        return listing.Page([], None)
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
) -> list[Slot]:
    """Free times of the slot grid's length (``BOOKING_SLOT_MINUTES``): what a visit of that
    length could take, as availability offers it to the desk."""
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
