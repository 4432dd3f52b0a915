"""/desk/diary: one provider's day or week, visits in time order with the free time between
them. The query string carries only a date, the view and a provider id (no patient data).

Three queries whatever the range: the schedule of visits, the provider's weekly template and
their time off; free time is each working period of the day minus visits and time off."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse

from booking.appointments.lifecycle import TRANSITIONS, AppointmentStatus, Visit
from booking.appointments.reasons import REASONS, ReasonCode
from booking.availability import service as availability
from booking.clock import local_midnight
from booking.config import Settings
from booking.providers import service as providers
from booking.providers.models import Provider
from booking.providers.service import Interval
from booking.web.desk import DeskCallDep
from booking.web.pages import STATUS_LABELS

router = APIRouter(prefix="/desk", include_in_schema=False)

VIEWS = {"day": 1, "week": 7}

# What a diary holds by default (the status a booking leads to): only other statuses (a visit
# held, or missed) are marked.
BOOKED = frozenset(t.to_status for t in TRANSITIONS.values() if t.visit == Visit.books)


@dataclass(frozen=True)
class DiaryRow:
    kind: str  # "visit", "free" or "off"
    start_at: dt.datetime
    end_at: dt.datetime
    starts: str  # "9:00 AM", practice-local (with the zone's name on a DST day)
    ends: str
    minutes: int
    visit: dict[str, Any] | None = None


@dataclass
class DiaryDay:
    day: dt.date
    label: str
    working: bool
    rows: list[DiaryRow] = field(default_factory=list)


@dataclass(frozen=True)
class DiaryChoice:
    """What the query string asked for, checked: unknown values fall back to the defaults."""

    first_day: dt.date  # the day shown, or the Monday of the week shown
    view: str
    provider: Provider | None

    @property
    def days(self) -> int:
        return VIEWS[self.view]

    def link(self, first_day: dt.date | None = None, view: str | None = None) -> str:
        query = {"date": (first_day or self.first_day).isoformat(), "view": view or self.view}
        if self.provider is not None:
            query["provider"] = str(self.provider.id)
        return "/desk/diary?" + urlencode(query)


def choose(
    *,
    date: str | None,
    view: str | None,
    provider_id: str | None,
    active: list[Provider],
    today: dt.date,
) -> DiaryChoice:
    try:
        day = dt.date.fromisoformat(date) if date else today
    except ValueError:
        day = today
    chosen_view = view if view in VIEWS else "day"
    if chosen_view == "week":
        day -= dt.timedelta(days=day.weekday())
    by_id = {str(provider.id): provider for provider in active}
    provider = by_id.get(provider_id or "") or (active[0] if active else None)
    return DiaryChoice(day, chosen_view, provider)


async def diary_days(
    session: AsyncSession, *, choice: DiaryChoice, settings: Settings
) -> list[DiaryDay]:
    """The chosen provider's days: visits, free time and time off, each day in time order."""
    if choice.provider is None:
        return []
    provider_id = choice.provider.id
    zone = settings.timezone
    days = [choice.first_day + dt.timedelta(days=n) for n in range(choice.days)]
    visits = await availability.schedule(
        session,
        first_day=choice.first_day,
        days=choice.days,
        provider_id=provider_id,
        settings=settings,
    )
    template = (await providers.weekly_templates(session, [provider_id], settings))[provider_id]
    range_start = local_midnight(days[0], zone)
    range_end = local_midnight(days[-1] + dt.timedelta(days=1), zone)
    time_off = (await providers.time_off_between(session, [provider_id], range_start, range_end))[
        provider_id
    ]

    shown = []
    for day in days:
        periods = providers.working_periods(template, day, settings)
        with_zone = _changes_offset(day, zone)
        rows = [
            _visit_row(visit, zone, with_zone)
            for visit in visits
            if visit["start_at"].astimezone(zone).date() == day
        ]
        for period in periods:
            off = _clipped(time_off, period)
            rows += [_row("off", starts, ends, zone, with_zone) for starts, ends in off]
            busy = off + [(row.start_at, row.end_at) for row in rows if row.kind == "visit"]
            rows += [
                _row("free", starts, ends, zone, with_zone) for starts, ends in _gaps(period, busy)
            ]
        rows.sort(key=lambda row: (row.start_at, row.kind != "visit"))
        shown.append(DiaryDay(day, f"{day:%A %-d %B %Y}", bool(periods), rows))
    return shown


def _visit_row(visit: dict[str, Any], zone: dt.tzinfo, with_zone: bool) -> DiaryRow:
    status = AppointmentStatus(visit["status"])
    row = _row("visit", visit["start_at"], visit["end_at"], zone, with_zone)
    details = {
        "id": visit["id"],
        "reference": visit["reference"],
        "name": f"{visit['first_name']} {visit['last_name']}",
        "reason": REASONS[ReasonCode(visit["reason_code"])].label,
        "urgent": visit["is_urgent"],
        "status": None if status in BOOKED else STATUS_LABELS[status],
    }
    return DiaryRow(row.kind, row.start_at, row.end_at, row.starts, row.ends, row.minutes, details)


def _row(
    kind: str, start_at: dt.datetime, end_at: dt.datetime, zone: dt.tzinfo, with_zone: bool
) -> DiaryRow:
    starts, ends = start_at.astimezone(zone), end_at.astimezone(zone)
    minutes = int((end_at - start_at).total_seconds() // 60)
    return DiaryRow(
        kind, start_at, end_at, _clock(starts, with_zone), _clock(ends, with_zone), minutes
    )


def _clock(local: dt.datetime, with_zone: bool) -> str:
    return f"{local:%-I:%M %p} {local.tzname()}" if with_zone else f"{local:%-I:%M %p}"


def _clipped(intervals: list[Interval], period: Interval) -> list[Interval]:
    return [
        (max(starts, period[0]), min(ends, period[1]))
        for starts, ends in intervals
        if starts < period[1] and ends > period[0]
    ]


def _gaps(period: Interval, busy: list[Interval]) -> list[Interval]:
    """The stretches of ``period`` that nothing in ``busy`` covers."""
    gaps = []
    at = period[0]
    for starts, ends in sorted(busy):
        if starts > at:
            gaps.append((at, min(starts, period[1])))
        at = max(at, ends)
        if at >= period[1]:
            break
    if at < period[1]:
        gaps.append((at, period[1]))
    return [(starts, ends) for starts, ends in gaps if ends > starts]


def _changes_offset(day: dt.date, zone: dt.tzinfo) -> bool:
    """Whether the clocks change on this day (its times then carry their zone's name)."""
    starts = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)
    ends = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone)
    return starts.utcoffset() != ends.utcoffset()


@router.get("/diary")
async def diary(
    call: DeskCallDep,
    date: str | None = None,
    view: str | None = None,
    provider: str | None = None,
) -> HTMLResponse:
    active = await providers.list_providers(call.session, active_only=True)
    today = call.clock.now().astimezone(call.settings.timezone).date()
    choice = choose(date=date, view=view, provider_id=provider, active=active, today=today)
    step = dt.timedelta(days=choice.days)
    return call.page(
        "desk_diary.html",
        choice=choice,
        providers=active,
        days=await diary_days(call.session, choice=choice, settings=call.settings),
        previous_link=choice.link(choice.first_day - step),
        next_link=choice.link(choice.first_day + step),
        today_link=choice.link(today),
        day_link=lambda day: choice.link(day, "day"),
    )
