"""/desk/providers: admins edit each provider's weekly hours and time off.

The forms are parsed into the API's models (providers/schemas.py) and handed to the same
service functions as PUT /hours and POST/DELETE /time-off: the same checks, the same messages.
The desk types times of day in the practice's zone; time off becomes aware datetimes there."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from booking.config import Settings
from booking.errors import (
    FieldError,
    NotFound,
    RequestInvalid,
    validated,
)
from booking.providers import service as providers
from booking.providers.schemas import WEEKDAYS, TimeOffIn, WeeklyHoursIn
from booking.staff.models import StaffRole
from booking.web.desk import (
    PAGE_HEADERS,
    DeskCall,
    DeskCallDep,
    FormState,
    forbidden,
    form_text,
)

router = APIRouter(prefix="/desk", include_in_schema=False)

DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NOTICES = {
    "hours": "Working hours saved.",
    "practice": "This provider now works the practice's opening hours.",
    "added": "Time off added.",
    "removed": "Time off removed.",
    "gone": "That time off had already been removed.",
}


class NotAnAdmin(Exception):
    """A desk user who is not an admin asked for these pages (main.py answers with a 403)."""


async def admin_call(call: DeskCallDep) -> DeskCall:
    if call.desk.staff.role != StaffRole.admin:
        raise NotAnAdmin
    return call


AdminCallDep = Annotated[DeskCall, Depends(admin_call)]


async def refuse_non_admin(request: Request, error: Exception) -> Response:
    settings: Settings = request.app.state.settings
    return forbidden(
        request,
        settings,
        heading="Only an admin can do this",
        text="Working hours and time off are changed by the practice's admins.",
    )


def _clock(time: dt.time) -> str:
    return f"{time:%H:%M}"


def _day_text(ranges: list[providers.WeeklyRange], weekday: int) -> str:
    """One weekday's ranges as the form shows them: "08:00-12:00, 13:00-17:00"."""
    return ", ".join(
        f"{_clock(r.start)}-{_clock(r.end)}" for r in sorted(ranges) if r.weekday == weekday
    )


def _weekly_data(form: FormData) -> tuple[list[dict[str, str]], list[int]]:
    """The seven day fields as the API's ``weekly`` list (still text: the model checks it),
    and each item's weekday, to put a refusal under the day it came from."""
    weekly: list[dict[str, str]] = []
    days: list[int] = []
    for number, weekday in enumerate(WEEKDAYS):
        for piece in form_text(form, f"day_{weekday.value}").split(","):
            if not piece.strip():
                continue
            start, _, end = piece.partition("-")
            weekly.append({"weekday": weekday.value, "start": start.strip(), "end": end.strip()})
            days.append(number)
    return weekly, days


def _weekly_errors(problems: list[FieldError], days: list[int]) -> dict[str, str]:
    """``weekly.3.start: …`` goes under the day of item 3; the rest above the form."""
    errors: dict[str, list[str]] = defaultdict(list)
    for problem in problems:
        parts = problem.field.split(".")
        if len(parts) >= 2 and parts[0] == "weekly" and parts[1].isdigit():
            day = WEEKDAYS[days[int(parts[1])]].value
            what = f"{parts[2]}: " if len(parts) > 2 else ""
            errors[f"day_{day}"].append(f"{what}{problem.message}")
        else:
            errors["hours"].append(f"{problem.message}")
    return {name: _sentence(messages) for name, messages in errors.items()}


def _sentence(messages: list[str]) -> str:
    text = "; ".join(messages)
    return text[:1].upper() + text[1:] + "."


def _time_off_data(form: FormData, zone: dt.tzinfo) -> dict[str, Any]:
    """Dates and optional times of day in the practice's zone, as the API's aware datetimes.
    No start time: the day's start; no end time: the end of the end day (a whole day off)."""
    problems = []
    moments: dict[str, str] = {}
    for name, whole_day_at in (("start", 0), ("end", 1)):
        try:
            day = dt.date.fromisoformat(form_text(form, f"{name}_date"))
            typed = form_text(form, f"{name}_time")
            if typed:
                moment = dt.datetime.combine(day, dt.time.fromisoformat(typed), zone)
            else:
                moment = dt.datetime.combine(day + dt.timedelta(days=whole_day_at), dt.time(), zone)
        except ValueError:
            problems.append(FieldError(name, "enter a date, and a time of day if not all day"))
            continue
        moments[name] = moment.isoformat()
    if problems:
        raise RequestInvalid(problems)
    reason = form_text(form, "reason")
    return {**moments, **({"reason": reason} if reason else {})}


def _messages(error: RequestInvalid) -> dict[str, str]:
    found: dict[str, list[str]] = defaultdict(list)
    for problem in error.extensions.get("errors", []):
        field = problem["field"]
        field = field if field in ("start", "end", "reason") else "time_off"
        found[field].append(problem["message"])
    return {name: _sentence(texts) for name, texts in found.items()}


def _when(start_at: dt.datetime, end_at: dt.datetime, zone: dt.tzinfo) -> str:
    """Whole days as days ("Thu 24 Dec 2026, all day"), anything else with its times."""
    starts, ends = start_at.astimezone(zone), end_at.astimezone(zone)
    if starts.time() == ends.time() == dt.time():
        last = ends.date() - dt.timedelta(days=1)
        if last == starts.date():
            return f"{starts:%a %-d %b %Y}, all day"
        return f"{starts:%a %-d %b %Y} to {last:%a %-d %b %Y}, all day"
    return f"{starts:%a %-d %b %Y, %-I:%M %p} to {ends:%a %-d %b %Y, %-I:%M %p}"


async def hours_page(
    call: DeskCall, provider_id: uuid.UUID, state: FormState = FormState()
) -> HTMLResponse:
    provider = await providers.get_provider(call.session, provider_id)
    hours = await providers.get_hours(
        call.session, provider_id=provider_id, settings=call.settings, now=call.clock.now()
    )
    zone = call.settings.timezone
    shown = {
        f"day_{weekday.value}": _day_text(hours.weekly, n) for n, weekday in enumerate(WEEKDAYS)
    }
    return call.page(
        "desk_hours.html",
        provider=provider,
        uses_practice_hours=hours.uses_practice_hours,
        days=[(f"day_{weekday.value}", DAY_NAMES[n]) for n, weekday in enumerate(WEEKDAYS)],
        shown=shown,
        time_off=[
            {"id": off.id, "when": _when(off.start_at, off.end_at, zone), "reason": off.reason}
            for off in hours.time_off
        ],
        **state.context(),
    )


@router.get("/providers")
async def provider_list(call: AdminCallDep) -> HTMLResponse:
    return call.page("desk_providers.html", providers=await providers.list_providers(call.session))


@router.get("/providers/{provider_id}/hours")
async def show_hours(provider_id: uuid.UUID, call: AdminCallDep) -> HTMLResponse:
    done = call.request.query_params.get("done", "")
    return await hours_page(call, provider_id, FormState(notice=NOTICES.get(done)))


def _done(provider_id: uuid.UUID, what: str) -> RedirectResponse:
    return RedirectResponse(
        f"/desk/providers/{provider_id}/hours?done={what}", status_code=303, headers=PAGE_HEADERS
    )


@router.post("/providers/{provider_id}/hours")
async def replace_hours(provider_id: uuid.UUID, call: AdminCallDep) -> Response:
    form = await call.form()
    if form is None:
        return forbidden(call.request, call.settings)
    practice = bool(form_text(form, "practice"))
    weekly, days = ([], []) if practice else _weekly_data(form)
    try:
        body = validated(WeeklyHoursIn, {"weekly": weekly})
    except RequestInvalid as error:
        typed = {name: form_text(form, name) for name in form if name.startswith("day_")}
        errors = _weekly_errors(error.field_errors, days)
        return await hours_page(call, provider_id, FormState(error.status, errors, typed))
    await providers.replace_weekly_hours(
        call.session, provider_id=provider_id, ranges=[r.as_range() for r in body.weekly]
    )
    return _done(provider_id, "practice" if practice else "hours")


@router.post("/providers/{provider_id}/time-off")
async def add_time_off(provider_id: uuid.UUID, call: AdminCallDep) -> Response:
    form = await call.form()
    if form is None:
        return forbidden(call.request, call.settings)
    try:
        body = validated(TimeOffIn, _time_off_data(form, call.settings.timezone))
        # A savepoint: the service's own refusals leave nothing behind either.
        async with call.session.begin_nested():
            await providers.add_time_off(
                call.session, provider_id=provider_id, request=body, now=call.clock.now()
            )
    except RequestInvalid as error:
        typed = {name: form_text(form, name) for name in form if name != "csrf_token"}
        state = FormState(error.status, _messages(error), typed)
        return await hours_page(call, provider_id, state)
    return _done(provider_id, "added")


@router.post("/providers/{provider_id}/time-off/{time_off_id}/remove")
async def remove_time_off(
    provider_id: uuid.UUID, time_off_id: uuid.UUID, call: AdminCallDep
) -> Response:
    if await call.form() is None:
        return forbidden(call.request, call.settings)
    await providers.get_provider(call.session, provider_id)
    try:
        async with call.session.begin_nested():
            await providers.remove_time_off(
                call.session, provider_id=provider_id, time_off_id=time_off_id
            )
    except NotFound:
        return _done(provider_id, "gone")  # removed already (a second click, another admin)
    return _done(provider_id, "removed")
