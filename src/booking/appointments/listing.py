"""The desk's list: filters, three orders, and keyset pagination with an opaque cursor.

Keyset, not offset: a page deep in a large table costs what the first page costs (an index range
scan from the cursor), and rows arriving meanwhile cause neither duplicates nor gaps.

Orders:
- ``triage`` (default): urgent first, then oldest first. Run as two index-ordered segments,
  urgent then not urgent, each walked by (created_at, id), so every page is an index range scan.
- ``schedule`` (default when only scheduled statuses are asked for): by visit time; lists only
  appointments that have a time.
- ``newest``: most recently created first.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, and_, false, func, or_, select, true, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.appointments.models import (
    SCHEDULED_STATUSES,
    Appointment,
    AppointmentStatus,
    appointments_table,
)
from booking.appointments.reasons import ReasonCode
from booking.appointments.service import REFERENCE_ALPHABET
from booking.errors import FieldError, RequestInvalid


class SortOrder(StrEnum):
    triage = "triage"
    schedule = "schedule"
    newest = "newest"


@dataclass(frozen=True)
class ListFilters:
    statuses: list[AppointmentStatus] = field(default_factory=list)
    reason_codes: list[ReasonCode] = field(default_factory=list)
    urgent: bool | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    scheduled_from: dt.date | None = None
    scheduled_to: dt.date | None = None
    provider_id: uuid.UUID | None = None
    q: str | None = None

    def fingerprint(self) -> str:
        canonical = json.dumps(asdict(self), default=str, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def default_order(self) -> SortOrder:
        if self.statuses and set(self.statuses) <= set(SCHEDULED_STATUSES):
            return SortOrder.schedule
        return SortOrder.triage


@dataclass(frozen=True)
class Page:
    # Rows of the appointments table (read by attribute like an Appointment): a list is read,
    # never changed, so it skips the ORM's identity map and unit of work.
    items: list[Row[Any]]
    next_cursor: str | None


async def list_appointments(
    session: AsyncSession,
    *,
    filters: ListFilters,
    order: SortOrder | None,
    limit: int,
    cursor: str | None,
    timezone: dt.tzinfo,
) -> Page:
    order = order or filters.default_order()
    after = _decode_cursor(cursor, order, filters) if cursor else None
    base = select(appointments_table).where(*_conditions(filters, timezone))

    if order is SortOrder.triage:
        rows = await _triage_rows(session, base, after, limit + 1)
    elif order is SortOrder.schedule:
        statement = base.where(col(Appointment.start_at).is_not(None))
        if after:
            statement = statement.where(
                tuple_(col(Appointment.start_at), col(Appointment.id))
                > tuple_(dt.datetime.fromisoformat(after[0]), uuid.UUID(after[1]))
            )
        statement = statement.order_by(col(Appointment.start_at), col(Appointment.id))
        rows = list((await session.execute(statement.limit(limit + 1))).all())
    else:
        if after:
            base = base.where(
                tuple_(col(Appointment.created_at), col(Appointment.id))
                < tuple_(dt.datetime.fromisoformat(after[0]), uuid.UUID(after[1]))
            )
        statement = base.order_by(col(Appointment.created_at).desc(), col(Appointment.id).desc())
        rows = list((await session.execute(statement.limit(limit + 1))).all())

    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], encode_cursor(order, filters, _key(order, last)))


async def _triage_rows(
    session: AsyncSession, base: Select[Any], after: list[Any] | None, wanted: int
) -> list[Row[Any]]:
    """Urgent first, then the rest, each oldest first: two index-ordered segments in one
    query (UNION ALL of two limited range scans), not two round trips."""
    segments = []
    for urgent in (True, False):
        if after and urgent and not after[0]:
            continue  # the cursor is already past the urgent segment
        statement = base.where(col(Appointment.is_urgent) == (true() if urgent else false()))
        if after and after[0] == urgent:
            statement = statement.where(
                tuple_(col(Appointment.created_at), col(Appointment.id))
                > tuple_(dt.datetime.fromisoformat(after[1]), uuid.UUID(after[2]))
            )
        statement = statement.order_by(col(Appointment.created_at), col(Appointment.id))
        segments.append(statement.limit(wanted).subquery())
    pages = [select(segment) for segment in segments]
    both = union_all(*pages).subquery() if len(pages) > 1 else segments[0]
    ordered = (
        select(both).order_by(both.c.is_urgent.desc(), both.c.created_at, both.c.id).limit(wanted)
    )
    return list((await session.execute(ordered)).all())


def _key(order: SortOrder, row: Row[Any]) -> list[Any]:
    if order is SortOrder.triage:
        return [row.is_urgent, row.created_at.isoformat(), str(row.id)]
    if order is SortOrder.schedule:
        assert row.start_at is not None
        return [row.start_at.isoformat(), str(row.id)]
    return [row.created_at.isoformat(), str(row.id)]


def encode_cursor(order: SortOrder, filters: ListFilters, key: list[Any]) -> str:
    raw = json.dumps({"o": order.value, "f": filters.fingerprint(), "k": key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, order: SortOrder, filters: ListFilters) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = data["k"]
        valid = isinstance(key, list) and all(isinstance(part, str | bool) for part in key)
        if valid:
            for part in key:
                if isinstance(part, str) and not _is_uuid(part):
                    _utc_timestamp(part)
    except (ValueError, OverflowError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not valid:
        raise RequestInvalid([FieldError("cursor", "is not a cursor this API gave out")])
    if data.get("o") != order.value or data.get("f") != filters.fingerprint():
        raise RequestInvalid(
            [FieldError("cursor", "belongs to a list with other filters or another order")]
        )
    expected_length = 3 if order is SortOrder.triage else 2
    if len(key) != expected_length:
        raise RequestInvalid([FieldError("cursor", "is not a cursor this API gave out")])
    return list(key)


def _utc_timestamp(value: str) -> dt.datetime:
    """A cursor's timestamp: aware, and in UTC's range (0001-01-01T00:00+14:00 is not: it
    overflows when converted, which the database driver would meet as a 500)."""
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("naive timestamp")
    return moment.astimezone(dt.UTC)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _local_midnight(day: dt.date, timezone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), timezone).astimezone(dt.UTC)


def _conditions(filters: ListFilters, timezone: dt.tzinfo) -> list[Any]:
    conditions: list[Any] = []
    if filters.statuses:
        conditions.append(col(Appointment.status).in_([s.value for s in filters.statuses]))
    if filters.reason_codes:
        conditions.append(col(Appointment.reason_code).in_([r.value for r in filters.reason_codes]))
    if filters.urgent is not None:
        conditions.append(col(Appointment.is_urgent) == (true() if filters.urgent else false()))
    if filters.provider_id:
        conditions.append(col(Appointment.provider_id) == filters.provider_id)
    one_day = dt.timedelta(days=1)
    if filters.created_from:
        start = _local_midnight(filters.created_from, timezone)
        conditions.append(col(Appointment.created_at) >= start)
    if filters.created_to:
        end = _local_midnight(filters.created_to + one_day, timezone)
        conditions.append(col(Appointment.created_at) < end)
    if filters.scheduled_from:
        start = _local_midnight(filters.scheduled_from, timezone)
        conditions.append(col(Appointment.start_at) >= start)
    if filters.scheduled_to:
        end = _local_midnight(filters.scheduled_to + one_day, timezone)
        conditions.append(col(Appointment.start_at) < end)
    if filters.q:
        conditions.append(_search(filters.q))
    return conditions


_REFERENCE = re.compile(f"^[{REFERENCE_ALPHABET}]{{8}}$")


def _search(q: str) -> Any:
    """Name, email, phone (by its digits) or reference (with or without the dash)."""
    needle = q.strip().lower()
    full_name = func.lower(col(Appointment.first_name) + " " + col(Appointment.last_name))
    matches = [
        full_name.contains(needle, autoescape=True),
        func.lower(col(Appointment.email)).contains(needle, autoescape=True),
    ]
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4:
        matches.append(col(Appointment.phone).contains(digits, autoescape=True))
    compact = re.sub(r"[\s-]", "", q).upper()
    if _REFERENCE.match(compact):
        matches.append(col(Appointment.reference) == f"{compact[:4]}-{compact[4:]}")
    return or_(*matches) if len(matches) > 1 else and_(*matches)
