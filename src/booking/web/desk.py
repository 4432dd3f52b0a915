"""/desk: the front desk's pages. Signed-in with a session cookie; every form carries a CSRF
token; every action calls the same service function as the API, recorded with source "web"."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from booking.appointments import listing
from booking.appointments import service as appointments
from booking.appointments.lifecycle import (
    BY_SLUG,
    Transition,
    actions_offered,
    allowed_actions,
)
from booking.appointments.models import Appointment, AppointmentStatus, EventSource
from booking.appointments.reasons import REASONS, ReasonCode
from booking.appointments.schemas import (
    MESSAGE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    VISIT_MINUTES,
    AppointmentOut,
)
from booking.clock import Clock
from booking.config import Settings
from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep, client_address
from booking.errors import (
    DomainError,
    FieldError,
    RequestInvalid,
    validated,
)
from booking.providers import service as providers
from booking.staff import service as staff_service
from booking.staff import sessions as desk_sessions
from booking.staff.errors import InvalidCredentials, TooManySignInAttempts
from booking.staff.models import DeskSession, StaffAccount
from booking.web.pages import NO_FRAMING, STATUS_LABELS, render
from booking.web.sessions import (
    COOKIE_NAME,
    clear_session_cookie,
    csrf_matches,
    set_session_cookie,
)
from booking.web.suggested import suggested_times

router = APIRouter(prefix="/desk", include_in_schema=False)

LOGIN_CSRF_COOKIE = "booking_login_csrf"
PAGE_HEADERS = {**NO_FRAMING, "Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def desk_page(
    request: Request, name: str, settings: Settings, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Every desk page (signed in or not) goes out with PAGE_HEADERS: never cached, never framed."""
    return render(request, name, settings, status_code=status_code, headers=PAGE_HEADERS, **context)


class LoginRequired(Exception):
    """No valid desk session: the handler in main.py sends the browser to the sign-in page."""


@dataclass(frozen=True)
class Desk:
    staff: StaffAccount
    session: DeskSession


async def signed_in(request: Request, session: SessionDep, clock: ClockDep) -> Desk:
    """The desk session the cookie names, read in the request's own transaction (marking the
    session used writes at most once a minute, committed with the rest of the request)."""
    state = await desk_sessions.find_session(
        session, token=request.cookies.get(COOKIE_NAME, ""), now=clock.now()
    )
    staff = (
        await staff_service.account_for_credential(session, staff_id=state.staff_id)
        if state
        else None
    )
    if state is None or staff is None:
        raise LoginRequired
    return Desk(staff, state)


DeskDep = Annotated[Desk, Depends(signed_in)]


@dataclass(frozen=True)
class DeskCall:
    """A signed-in page request, and what its handler works with."""

    request: Request
    desk: Desk
    session: AsyncSession
    settings: Settings
    clock: Clock

    async def form(self) -> FormData | None:
        """The posted form, or None when its CSRF token is not this desk session's."""
        form = await self.request.form()
        return form if csrf_matches(self.desk.session, form_text(form, "csrf_token")) else None

    def page(self, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        return desk_page(
            self.request,
            name,
            self.settings,
            status_code=status_code,
            staff=self.desk.staff,
            csrf_token=self.desk.session.csrf_token,
            **context,
        )


async def desk_call(
    request: Request, desk: DeskDep, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> DeskCall:
    return DeskCall(request, desk, session, settings, clock)


DeskCallDep = Annotated[DeskCall, Depends(desk_call)]


@dataclass(frozen=True)
class FormState:
    """How a desk page with forms is shown: after a refusal, its status, the messages by form
    or field and what the clerk typed (kept); after a change, the notice."""

    status_code: int = 200
    errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    notice: str | None = None

    def context(self) -> dict[str, Any]:
        """The page's values: fields never typed, and fields without a message, read as empty."""
        return {
            "status_code": self.status_code,
            "errors": defaultdict(str, self.errors),
            "typed": defaultdict(str, self.typed),
            "notice": self.notice,
        }


def forbidden(
    request: Request,
    settings: Settings,
    *,
    heading: str = "This form has expired",
    text: str = "Go back, reload the page and try again.",
) -> HTMLResponse:
    """The 403 page: a form whose CSRF token is not this session's, unless told otherwise."""
    return desk_page(request, "message.html", settings, status_code=403, heading=heading, text=text)


# --- signing in and out ----------------------------------------------------------------------


def login_page(
    request: Request,
    settings: Settings,
    *,
    email: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = desk_page(
        request,
        "desk_login.html",
        settings,
        status_code=status,
        staff=None,
        csrf_token=token,
        email=email,
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/desk/login",
        httponly=True,
        samesite="strict",
        secure=settings.served_over_https,
    )
    return response


@router.get("/login")
async def login_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    return login_page(request, settings)


@router.post("/login")
async def login(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    form = await request.form()
    email = form_text(form, "email")
    password = str(form.get("password") or "")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, str(form.get("csrf_token") or "")):
        return forbidden(request, settings)
    try:
        account = await staff_service.sign_in(
            session,
            throttle=request.app.state.sign_in_throttle,
            email=email,
            password=password,
            client=client_address(request),
        )
    except TooManySignInAttempts as error:
        return login_page(request, settings, email=email, error=error.detail, status=429)
    except InvalidCredentials:
        return login_page(
            request, settings, email=email, error="Wrong email or password.", status=401
        )
    lifetime = dt.timedelta(hours=settings.desk_session_hours)
    token, _ = await desk_sessions.start_session(
        session, staff_id=account.id, lifetime=lifetime, now=clock.now()
    )
    response = RedirectResponse("/desk", status_code=303, headers=PAGE_HEADERS)
    set_session_cookie(response, token, settings, lifetime)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/desk/login")
    return response


@router.post("/logout")
async def logout(call: DeskCallDep) -> Response:
    if await call.form() is None:
        return forbidden(call.request, call.settings)
    await desk_sessions.end_session(call.session, token=call.request.cookies.get(COOKIE_NAME, ""))
    response = RedirectResponse("/desk/login", status_code=303, headers=PAGE_HEADERS)
    clear_session_cookie(response, call.settings)
    return response


# --- the board -------------------------------------------------------------------------------


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class BoardView:
    label: str
    open_now: bool | None  # see listing.ListFilters.open_now
    order: listing.SortOrder | None  # None: the list's default (urgent first, then oldest)


# What the board lists when no single status is chosen; "" (open requests) by default.
BOARD_VIEWS = {
    "": BoardView("Open", True, None),
    "closed": BoardView("Closed", False, listing.SortOrder.newest),
    "all": BoardView("All", None, None),
}
ONE_STATUS = BoardView("", None, None)  # a single status chosen: all of it, the list's order

ORDER_CAPTIONS = {
    listing.SortOrder.triage: "urgent first, then oldest first",
    listing.SortOrder.schedule: "by visit time",
    listing.SortOrder.newest: "newest first",
}

FILTER_MAX_LENGTH = 500  # a cursor is about 200 characters; the search is cut to 100

FILTERS = ("q", "status", "reason_code", "created_from", "created_to", "scheduled_on", "cursor")


@router.get("")
async def board(call: DeskCallDep) -> HTMLResponse:
    """The board under the filter this desk session keeps (see ``filtered_board``)."""
    return await board_page(call, desk_sessions.board_filter(call.desk.session))


@router.post("")
async def filtered_board(call: DeskCallDep) -> Response:
    """Filters arrive in a POST body, not a query string: a search is a patient's name and a
    reason code is health information, and URLs end up in browser histories and proxy logs.
    The desk session keeps them (server-side, ended with it) and the browser is sent to the
    plain GET /desk: Back and reload then work without "Confirm form resubmission"."""
    form = await call.form()
    if form is None:
        return forbidden(call.request, call.settings)
    chosen = {} if form_text(form, "clear") else _chosen_filters(form)
    await desk_sessions.keep_board_filter(
        call.session, desk_session=call.desk.session, chosen=chosen
    )
    return RedirectResponse("/desk", status_code=303, headers=PAGE_HEADERS)


def _chosen_filters(form: FormData) -> dict[str, str]:
    """The filters filled in, cleaned and bounded (the board checks each value it uses)."""
    chosen = {name: form_text(form, name)[:FILTER_MAX_LENGTH] for name in FILTERS}
    chosen["q"] = "".join(char for char in chosen["q"] if char.isprintable())[:100]
    return {name: value for name, value in chosen.items() if value}


async def board_page(call: DeskCall, kept: dict[str, str]) -> HTMLResponse:
    shown = {name: form_text(kept, name) for name in FILTERS}
    # The Status menu: one status, or a view (by default the open requests).
    statuses = [AppointmentStatus(shown["status"])] if shown["status"] in STATUS_LABELS else []
    if not statuses and shown["status"] not in BOARD_VIEWS:
        shown["status"] = ""
    view = ONE_STATUS if statuses else BOARD_VIEWS[shown["status"]]
    reasons = [ReasonCode(shown["reason_code"])] if shown["reason_code"] in REASONS else []
    scheduled_on = _date(shown["scheduled_on"])
    filters = listing.ListFilters(
        statuses=statuses,
        reason_codes=reasons,
        created_from=_date(shown["created_from"]),
        created_to=_date(shown["created_to"]),
        scheduled_from=scheduled_on,
        scheduled_to=scheduled_on,
        q=shown["q"] or None,
        open_now=view.open_now,
    )
    order = view.order or filters.default_order()
    error = None

    async def listed(cursor: str | None) -> listing.RowPage:
        return await listing.list_appointments(
            call.session,
            filters=filters,
            order=order,
            limit=25,
            cursor=cursor,
            timezone=call.settings.timezone,
            now=call.clock.now(),
        )

    try:
        result = await listed(shown["cursor"] or None)
    except DomainError:
        error = "That page of results is no longer available; showing the first page."
        result = await listed(None)
    zone = call.settings.practice_timezone
    return call.page(
        "desk_board.html",
        filters=shown,
        views=[(value, board_view.label) for value, board_view in BOARD_VIEWS.items()],
        statuses=list(STATUS_LABELS.items()),
        items=[AppointmentOut.of(item, zone) for item in result.items],
        next_cursor=result.next_cursor,
        order=ORDER_CAPTIONS[order],
        error=error,
    )


# --- one request -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeskForm:
    """One form of the detail page: the actions posted from it (its buttons) and its fields."""

    name: str
    heading: str
    actions: list[Transition]
    fields: frozenset[str]  # of the API model the form is parsed into


def desk_forms(appointment: Appointment, now: dt.datetime) -> list[DeskForm]:
    """The forms for what can be done to this appointment now, from the lifecycle's table."""
    forms: dict[str, DeskForm] = {}
    for transition in actions_offered(appointment.status, appointment.start_at, now):
        model = appointments.STEPS[transition.action].command
        form = forms.setdefault(
            transition.desk_form,
            DeskForm(
                transition.desk_form,
                transition.heading,
                [],
                frozenset(model.model_fields) if model else frozenset(),
            ),
        )
        form.actions.append(transition)
    return list(forms.values())


async def detail_page(
    call: DeskCall, appointment_id: uuid.UUID, state: FormState = FormState()
) -> HTMLResponse:
    session = call.session
    appointment = await appointments.get_appointment(session, appointment_id)
    events = await appointments.list_events(session, appointment_id)
    staff_names = {
        account.id: account.display_name for account in await staff_service.list_staff(session)
    }
    item = AppointmentOut.of(appointment, call.settings.practice_timezone)
    now = call.clock.now()
    forms = desk_forms(appointment, now)
    offered = [transition for form in forms for transition in form.actions]
    # A refusal from a form no longer on the page (the status moved on, or its time has not
    # come) is said at the top of the page.
    errors = dict(state.errors)
    for name in set(errors) - {form.name for form in forms} - {"page"}:
        errors["page"] = errors.pop(name)
    active = await providers.list_providers(session, active_only=True)
    # Suggested times, when a form on the page takes a start time (confirm or move).
    suggestions = (
        await suggested_times(
            session,
            appointment=appointment,
            active_providers=active,
            settings=call.settings,
            now=now,
        )
        if any("start" in form.fields for form in forms)
        else []
    )
    return call.page(
        "desk_detail.html",
        item=item,
        events=events,
        actors=staff_names,
        forms=forms,
        # Allowed by the status, not offered yet: the page says when they will be.
        later=[t.label for t in allowed_actions(appointment.status) if t not in offered],
        limits={
            "visit_minutes": VISIT_MINUTES,
            "reason": REASON_MAX_LENGTH,
            "message": MESSAGE_MAX_LENGTH,
        },
        providers=active,
        suggestions=suggestions,
        default_duration=item.duration_minutes
        or REASONS[ReasonCode(appointment.reason_code)].default_duration_minutes,
        **replace(state, errors=errors).context(),
    )


@router.get("/appointments/{appointment_id}")
async def detail(appointment_id: uuid.UUID, call: DeskCallDep) -> HTMLResponse:
    done = BY_SLUG.get(call.request.query_params.get("done", ""))
    return await detail_page(call, appointment_id, FormState(notice=done.notice if done else None))


def form_text(form: FormData | dict[str, str], name: str) -> str:
    """A form field's text, without NUL characters (PostgreSQL refuses them in text)."""
    value = form.get(name)
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _command(transition: Transition, form: FormData, settings: Settings) -> BaseModel | None:
    """The form, parsed into the API's model for this action: the same checks, the same
    messages. The desk asks for a date and a time of day in the practice's zone; the API takes
    one moment with its offset."""
    model = appointments.STEPS[transition.action].command
    if model is None:
        return None
    data: dict[str, Any] = {
        name: form_text(form, name) for name in model.model_fields if form_text(form, name)
    }
    if "duration_minutes" in data and data["duration_minutes"].isdigit():
        data["duration_minutes"] = int(data["duration_minutes"])
    if "start" in model.model_fields:
        try:
            day = dt.date.fromisoformat(form_text(form, "date"))
            time = dt.time.fromisoformat(form_text(form, "time"))
        except ValueError:
            raise RequestInvalid([FieldError("start", "enter a date and a start time")]) from None
        data["start"] = dt.datetime.combine(day, time, settings.timezone).isoformat()
    return validated(model, data)


def _explain(error: DomainError) -> str:
    if isinstance(error, RequestInvalid):
        problems = error.extensions.get("errors", [])
        return " ".join(
            f"{p['field'].replace('_', ' ').capitalize()}: {p['message']}." for p in problems
        )
    return error.detail


@router.post("/appointments/{appointment_id}/{slug}")
async def act(appointment_id: uuid.UUID, slug: str, call: DeskCallDep) -> Response:
    form = await call.form()
    if form is None:
        return forbidden(call.request, call.settings)
    transition = BY_SLUG.get(slug)
    if transition is None:
        return RedirectResponse(
            f"/desk/appointments/{appointment_id}", status_code=303, headers=PAGE_HEADERS
        )
    version = form_text(form, "version")
    context = appointments.ActionContext(
        actor=appointments.Actor.staff(call.desk.staff.id, EventSource.web),
        settings=call.settings,
        now=call.clock.now(),
        expected_version=int(version) if version.isdigit() else None,
    )
    try:
        # A savepoint: a refused action leaves nothing behind, and the page that explains the
        # refusal is read in the same transaction (get_session still commits it).
        async with call.session.begin_nested():
            command = _command(transition, form, call.settings)
            await appointments.perform(
                call.session, context, transition.action, appointment_id, command
            )
    except DomainError as error:
        typed = {name: form_text(form, name) for name in form if name != "csrf_token"}
        typed["action"] = transition.desk_form
        errors = {transition.desk_form: _explain(error)}
        return await detail_page(call, appointment_id, FormState(error.status, errors, typed))
    return RedirectResponse(
        f"/desk/appointments/{appointment_id}?done={slug}", status_code=303, headers=PAGE_HEADERS
    )
