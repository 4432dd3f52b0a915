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
import functools
import hashlib
import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.lifecycle import OPEN_STATUSES
from booking.appointments.models import (
    SCHEDULED_STATUSES,
    AppointmentStatus,
    appointments_table,
)
from booking.appointments.reasons import ReasonCode
from booking.appointments.service import REFERENCE_ALPHABET
from booking.clock import local_midnight
from booking.errors import FieldError, RequestInvalid
from booking.values import IsoDate


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
    # True: still to be dealt with (an open status, and no visit that is over); False: the
    # rest. Read at list_appointments' ``now``.
    open_now: bool | None = None

    def fingerprint(self) -> str:
        canonical = json.dumps(asdict(self), default=str, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def default_order(self) -> SortOrder:
        if self.statuses and set(self.statuses) <= set(SCHEDULED_STATUSES):
            return SortOrder.schedule
        return SortOrder.triage


class ListQuery(BaseModel):
    """The desk list's query string (GET /api/v1/appointments): the filters, the order and the
    page. FastAPI reads it as one model (``Annotated[ListQuery, Query()]``) and documents each
    field as its own parameter."""

    status: list[AppointmentStatus] | None = None
    reason_code: list[ReasonCode] | None = None
    urgent: bool | None = None
    created_from: IsoDate | None = None
    created_to: IsoDate | None = None
    scheduled_from: IsoDate | None = None
    scheduled_to: IsoDate | None = None
    provider_id: uuid.UUID | None = None
    q: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
    sort: SortOrder | None = None
    limit: int = Field(25, ge=1, le=100)
    cursor: str | None = Field(None, max_length=500)

    def filters(self) -> ListFilters:
        return ListFilters(
            statuses=self.status or [],
            reason_codes=self.reason_code or [],
            urgent=self.urgent,
            created_from=self.created_from,
            created_to=self.created_to,
            scheduled_from=self.scheduled_from,
            scheduled_to=self.scheduled_to,
            provider_id=self.provider_id,
            q=self.q,
        )


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of a keyset-paged list; ``next_cursor`` is None on the last page."""

    items: list[T]
    next_cursor: str | None


# The list's page: rows of the appointments table (read by attribute like an Appointment). A
# list is read, never changed, so it skips the ORM's identity map and unit of work.
RowPage = Page[Row[Any]]


async def list_appointments(
    session: AsyncSession,
    *,
    filters: ListFilters,
    order: SortOrder | None,
    limit: int,
    cursor: str | None,
    timezone: dt.tzinfo,
    now: dt.datetime | None = None,
) -> RowPage:
    order = order or filters.default_order()
    after = _decode_cursor(cursor, order, filters) if cursor else None
    params = _filter_parameters(filters, timezone)
    if filters.open_now is not None:
        if now is None:
            raise ValueError("open_now needs the moment it is read at: pass now")
        params["open_as_of" if filters.open_now else "closed_as_of"] = now
    params["wanted"] = limit + 1
    # Where the cursor stands: for triage, in the urgent segment or past it.
    position: str | None = None
    if after is not None:
        if order is SortOrder.triage:
            position = "urgent" if after[0] else "rest"
            after = after[1:]
        else:
            position = "after"
        params["after_time"] = _utc_timestamp(after[0])
        params["after_id"] = uuid.UUID(after[1])
    statement = _statement(order, tuple(sorted(params)), position)
    # A Core select on the session's connection: the ORM's execution layer adds nothing here.
    connection = await session.connection()
    rows = list((await connection.execute(statement, params)).all())
    if len(rows) <= limit:
        return RowPage(rows, None)
    last = rows[limit - 1]
    return RowPage(rows[:limit], encode_cursor(order, filters, _key(order, last)))


@functools.lru_cache(maxsize=512)
def _statement(order: SortOrder, names: tuple[str, ...], position: str | None) -> Select[Any]:
    """The list's statement for one shape (order, the filters in use, where the cursor
    stands), built once: a request only binds values. Building a select of 24 columns (and for
    triage a UNION ALL of two) costs more CPU than PostgreSQL spends running it."""
    table = appointments_table
    base = select(table).where(*_conditions(names))
    after_time = bindparam("after_time", type_=table.c.created_at.type)
    after_id = bindparam("after_id", type_=table.c.id.type)
    wanted = bindparam("wanted", type_=Integer)
    if order is SortOrder.schedule:
        statement = base.where(table.c.start_at.is_not(None))
        if position:
            statement = statement.where(
                tuple_(table.c.start_at, table.c.id) > tuple_(after_time, after_id)
            )
        return statement.order_by(table.c.start_at, table.c.id).limit(wanted)
    if order is SortOrder.newest:
        if position:
            base = base.where(tuple_(table.c.created_at, table.c.id) < tuple_(after_time, after_id))
        return base.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(wanted)
    # Triage: urgent first, then the rest, each oldest first. Two index-ordered segments (each
    # a limited range scan of ix_appointments_triage) in one query, not two round trips.
    segments = []
    for urgent, segment in ((True, "urgent"), (False, "rest")):
        if position == "rest" and urgent:
            continue  # the cursor is already past the urgent segment
        statement = base.where(table.c.is_urgent == (true() if urgent else false()))
        if position == segment:
            statement = statement.where(
                tuple_(table.c.created_at, table.c.id) > tuple_(after_time, after_id)
            )
        segments.append(statement.order_by(table.c.created_at, table.c.id).limit(wanted).subquery())
    both = union_all(*(select(segment) for segment in segments)).subquery()
    return (
        select(both).order_by(both.c.is_urgent.desc(), both.c.created_at, both.c.id).limit(wanted)
    )


def _key(order: SortOrder, row: Row[Any]) -> list[Any]:
    if order is SortOrder.triage:
        return [row.is_urgent, row.created_at.isoformat(), str(row.id)]
    if order is SortOrder.schedule:
        assert row.start_at is not None
        return [row.start_at.isoformat(), str(row.id)]
    return [row.created_at.isoformat(), str(row.id)]


# The list's and FHIR's searches answer a cursor they did not give out with this.
CURSOR_INVALID = FieldError("query.cursor", "is not a cursor this API gave out")


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
        raise RequestInvalid([CURSOR_INVALID])
    if data.get("o") != order.value or data.get("f") != filters.fingerprint():
        raise RequestInvalid(
            [FieldError("query.cursor", "belongs to a list with other filters or another order")]
        )
    expected_length = 3 if order is SortOrder.triage else 2
    if len(key) != expected_length:
        raise RequestInvalid([CURSOR_INVALID])
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


def _filter_parameters(filters: ListFilters, timezone: dt.tzinfo) -> dict[str, Any]:
    """The values of the filters in use, by bind parameter name (see ``_conditions``)."""

    def midnight(day: dt.date | None, days_later: int = 0) -> dt.datetime | None:
        """The start of the day in the practice's zone (``days_later``: of a later day)."""
        if day is None:
            return None
        return local_midnight(day + dt.timedelta(days=days_later), timezone)

    params: dict[str, Any] = {
        "statuses": [status.value for status in filters.statuses] or None,
        "reason_codes": [code.value for code in filters.reason_codes] or None,
        "urgent": filters.urgent,
        "provider_id": filters.provider_id,
        # Dates are whole days, both ends included.
        "created_from": midnight(filters.created_from),
        "created_to": midnight(filters.created_to, 1),
        "scheduled_from": midnight(filters.scheduled_from),
        "scheduled_to": midnight(filters.scheduled_to, 1),
    }
    if filters.q:
        params |= _search_parameters(filters.q)
    return {name: value for name, value in params.items() if value is not None}


def _conditions(names: tuple[str, ...]) -> list[ColumnElement[bool]]:
    table = appointments_table

    def value(name: str, column: Any) -> Any:
        return bindparam(name, type_=column.type)

    present = set(names)
    conditions: list[ColumnElement[bool]] = []
    if "statuses" in present:
        conditions.append(table.c.status.in_(bindparam("statuses", expanding=True)))
    if "reason_codes" in present:
        conditions.append(table.c.reason_code.in_(bindparam("reason_codes", expanding=True)))
    if "urgent" in present:
        conditions.append(table.c.is_urgent == value("urgent", table.c.is_urgent))
    if "provider_id" in present:
        conditions.append(table.c.provider_id == value("provider_id", table.c.id))
    if "created_from" in present:
        conditions.append(table.c.created_at >= value("created_from", table.c.created_at))
    if "created_to" in present:
        conditions.append(table.c.created_at < value("created_to", table.c.created_at))
    if "scheduled_from" in present:
        conditions.append(table.c.start_at >= value("scheduled_from", table.c.created_at))
    if "scheduled_to" in present:
        conditions.append(table.c.start_at < value("scheduled_to", table.c.created_at))
    if "q_like" in present:
        conditions.append(_search(present))
    # Open: the lifecycle still allows a change, and the visit (if any) is not over yet
    # (lifecycle.is_open, in SQL).
    open_statuses = [status.value for status in OPEN_STATUSES]
    if "open_as_of" in present:
        as_of = value("open_as_of", table.c.end_at)
        conditions.append(table.c.status.in_(open_statuses))
        conditions.append(or_(table.c.end_at.is_(None), table.c.end_at > as_of))
    if "closed_as_of" in present:
        as_of = value("closed_as_of", table.c.end_at)
        conditions.append(or_(table.c.status.not_in(open_statuses), table.c.end_at <= as_of))
    return conditions


_REFERENCE = re.compile(f"^[{REFERENCE_ALPHABET}]{{8}}$")


def _search_parameters(q: str) -> dict[str, str]:
    """Name, email, phone (by its digits) or reference (with or without the dash)."""
    params = {"q_like": f"%{_like_escaped(q.strip().lower())}%"}
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4:
        params["q_digits"] = f"%{digits}%"
    compact = re.sub(r"[\s-]", "", q).upper()
    if _REFERENCE.match(compact):
        params["q_reference"] = f"{compact[:4]}-{compact[4:]}"
    return params


def _like_escaped(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _search(present: set[str]) -> ColumnElement[bool]:
    table = appointments_table
    needle = bindparam("q_like", type_=table.c.email.type)
    full_name = func.lower(table.c.first_name + " " + table.c.last_name)
    matches: list[ColumnElement[bool]] = [
        full_name.like(needle, escape="/"),
        func.lower(table.c.email).like(needle, escape="/"),
    ]
    if "q_digits" in present:
        matches.append(table.c.phone.like(bindparam("q_digits", type_=table.c.phone.type)))
    if "q_reference" in present:
        matches.append(table.c.reference == bindparam("q_reference", type_=table.c.reference.type))
    return or_(*matches)
