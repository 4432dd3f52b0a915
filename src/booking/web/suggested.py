"""The detail page's suggested times: the availability service's suggestions for a request,
as the desk shows them (practice-local day and time, provider, the preferred window matched)
and as the one-click forms post them (the same fields as the free-typed form)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.models import Appointment, PartOfDay
from booking.availability import service as availability
from booking.config import Settings
from booking.providers.models import Provider
from booking.web.pages import PART_OF_DAY_LABELS

SUGGESTION_LIMIT = 6


@dataclass(frozen=True)
class SuggestedTime:
    """One suggestion: what the button says, and the fields its form posts."""

    date: str  # YYYY-MM-DD, practice-local
    time: str  # HH:MM, practice-local
    duration_minutes: int
    provider_id: str
    day_label: str  # "Mon 7 Dec"
    time_label: str  # "9:00 AM CST"
    provider_name: str | None  # only when the practice has several providers
    window_label: str  # "Mon 7 Dec, morning" or "after the preferred days"


async def suggested_times(
    session: AsyncSession,
    *,
    appointment: Appointment,
    active_providers: Sequence[Provider],
    settings: Settings,
    now: dt.datetime,
) -> list[SuggestedTime]:
    """The service's suggestions, labelled. Only asked for when the page offers a form with
    a start time (the lifecycle decides which), so the appointment can be booked or moved."""
    found = await availability.suggestions(
        session,
        appointment_id=appointment.id,
        limit=SUGGESTION_LIMIT,
        settings=settings,
        now=now,
    )
    zone = settings.timezone
    names = {provider.id: provider.name for provider in active_providers}
    several = len(active_providers) > 1
    windows = list(appointment.preferred_windows or [])
    shown = []
    for suggestion in found:
        slot = suggestion.slot
        starts = slot.start_at.astimezone(zone)
        shown.append(
            SuggestedTime(
                date=starts.date().isoformat(),
                time=f"{starts:%H:%M}",
                duration_minutes=int((slot.end_at - slot.start_at).total_seconds() // 60),
                provider_id=str(slot.provider_id),
                day_label=f"{starts:%a %-d %b}",
                time_label=f"{starts:%-I:%M %p} {starts.tzname()}",
                provider_name=names.get(slot.provider_id) if several else None,
                window_label=_window_label(windows, suggestion.window_index),
            )
        )
    return shown


def _window_label(windows: list[dict[str, Any]], index: int | None) -> str:
    if index is None or index >= len(windows):
        return "after the preferred days"
    window = windows[index]
    day = dt.date.fromisoformat(window["date"])
    return f"{day:%a %-d %b}, {PART_OF_DAY_LABELS[PartOfDay(window['part_of_day'])]}"
