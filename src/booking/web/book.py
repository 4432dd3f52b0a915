"""/book: the hosted request form. The same schema and service as the API hold the rules."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
import uuid
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, Response

from booking.appointments import service as appointments
from booking.appointments.models import EventSource
from booking.appointments.reasons import UrgentSymptom
from booking.appointments.rules import BookingRules, use_rules
from booking.appointments.schemas import AppointmentCreate
from booking.config import WEEKDAY_NAMES, Settings
from booking.db import SessionDep
from booking.dependencies import ClockDep, SessionmakerDep, SettingsDep
from booking.errors import DomainError, field_errors_from_validation
from booking.idempotency.dependencies import Idempotency
from booking.security import RateLimited, public_rate_limit, sign
from booking.web.pages import SYMPTOM_LABELS, render

router = APIRouter(include_in_schema=False)
logger = logging.getLogger("booking.spam")

_KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")

# Friendlier words than the schema's, where a person reads them.
FRIENDLY = {
    "consent": "Please agree, so that we may store your request.",
    "contact_preference": "Please choose how we should contact you.",
    "reason_code": "Please choose a reason.",
}


def frame_ancestors(settings: Settings) -> dict[str, str]:
    """The form may be embedded on the practice's own sites (BOOKING_CORS_ORIGINS)."""
    allowed = " ".join(["'self'", *settings.cors_origins])
    return {"Content-Security-Policy": f"frame-ancestors {allowed}"}


def _sign(settings: Settings, value: str) -> str:
    return sign(settings.secret_key, "booking form", value)[:32]


def form_started_token(settings: Settings, now: dt.datetime) -> str:
    stamp = str(int(now.timestamp()))
    return f"{stamp}.{_sign(settings, stamp)}"


def filled_too_fast(settings: Settings, token: str, now: dt.datetime) -> bool:
    """Bots post at once; people take a few seconds. A missing or forged stamp counts as fast."""
    stamp, _, signature = token.partition(".")
    if not stamp.isdigit() or not hmac.compare_digest(_sign(settings, stamp), signature):
        return True
    return now.timestamp() - int(stamp) < settings.form_min_fill_seconds


def request_from_form(form: FormData) -> dict[str, Any]:
    def text(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) and value.strip() else None

    windows = [
        {"date": text(f"date_{n}"), "part_of_day": text(f"part_{n}") or "any"}
        for n in (1, 2, 3)
        if text(f"date_{n}")
    ]
    body: dict[str, Any] = {
        "patient": {
            "first_name": text("first_name"),
            "last_name": text("last_name"),
            "email": text("email"),
            "phone": text("phone"),
            "date_of_birth": text("date_of_birth"),
            "is_new_patient": form.get("is_new_patient") == "true",
        },
        "reason_code": text("reason_code"),
        "reason_detail": text("reason_detail"),
        "preferred_windows": windows,
        "contact_preference": text("contact_preference"),
        "urgent_symptoms": [value for value in form.getlist("urgent_symptoms") if value],
        "consent": form.get("consent") == "true",
    }
    return body


def form_errors(error: ValidationError) -> dict[str, str]:
    """Schema errors keyed by the form's own field names."""
    errors: dict[str, str] = {}
    for problem in field_errors_from_validation(error.errors()):
        parts = problem.field.split(".")
        if parts[0] == "patient" and len(parts) > 1:
            name = parts[1]
        elif parts[0] == "preferred_windows" and len(parts) > 2:
            name = f"date_{int(parts[1]) + 1}" if parts[2] == "date" else "preferred_windows"
        else:
            name = parts[0]
        message = FRIENDLY.get(name, problem.message)
        errors.setdefault(name, message[:1].upper() + message[1:])
    return errors


def form_page(
    request: Request,
    settings: Settings,
    now: dt.datetime,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    idempotency_key: str,
) -> HTMLResponse:
    rules = BookingRules.from_settings(settings, now)
    return render(
        request,
        "book.html",
        settings,
        status_code=422 if errors else 200,
        headers=frame_ancestors(settings),
        # Fields never filled in read as empty (the templates' undefined variables are errors).
        values=defaultdict(str, {"urgent_symptoms": [], **values}),
        errors=defaultdict(str, errors),
        idempotency_key=idempotency_key,
        form_started=form_started_token(settings, now),
        symptoms=[{"code": s.value, "label": SYMPTOM_LABELS[s]} for s in UrgentSymptom],
        last_day=rules.last_bookable_date.strftime("%-d %B %Y"),
        open_days=", ".join(WEEKDAY_NAMES[day].title() for day in sorted(rules.open_weekdays)),
    )


@router.get("/book")
async def book_form(request: Request, settings: SettingsDep, clock: ClockDep) -> HTMLResponse:
    return form_page(
        request,
        settings,
        clock.now(),
        values={"contact_preference": "email", "is_new_patient": True},
        errors={},
        idempotency_key=str(uuid.uuid4()),
    )


@router.post("/book")
async def book_submit(
    request: Request,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    form = await request.form()
    now = clock.now()
    submitted_key = str(form.get("idempotency_key") or "")
    key = submitted_key if _KEY.match(submitted_key) else str(uuid.uuid4())
    values: dict[str, Any] = {name: form.get(name) for name in form if name != "urgent_symptoms"}
    values["urgent_symptoms"] = form.getlist("urgent_symptoms")

    if form.get("website") or filled_too_fast(settings, str(form.get("form_started", "")), now):
        # Spam is answered like a success, so that bots learn nothing, and is not stored.
        logger.info("spam dropped on /book (request_id=%s)", request.state.request_id)
        request.app.state.metrics.spam.inc()
        return render(request, "book_thanks.html", settings, reference=None, advisory=None)

    try:
        await public_rate_limit(request)
    except RateLimited as error:
        return render(
            request,
            "message.html",
            settings,
            status_code=429,
            headers={**frame_ancestors(settings), **error.headers},
            heading="Please wait a moment",
            text=f"Many requests came from your network just now. {error.detail}",
        )
    use_rules(BookingRules.from_settings(settings, now))
    try:
        payload = AppointmentCreate.model_validate(request_from_form(form))
    except ValidationError as error:
        return form_page(
            request, settings, now, values=values, errors=form_errors(error), idempotency_key=key
        )

    async def create() -> Response:
        created = await appointments.create_appointment(
            session,
            request=payload,
            settings=settings,
            now=now,
            actor=appointments.Actor(source=EventSource.web),
        )
        request.app.state.metrics.appointment_stored(
            payload.reason_code, receipt_skipped=created.receipt_skipped
        )
        return render(
            request,
            "book_thanks.html",
            settings,
            headers=frame_ancestors(settings),
            reference=created.appointment.reference,
            advisory=created.advisory,
        )

    idempotency = Idempotency(
        key=key,
        request=request,
        sessionmaker=sessionmaker,
        clock=clock,
        ttl=dt.timedelta(hours=settings.idempotency_key_ttl_hours),
    )
    try:
        return await idempotency.respond(
            session, scope="public", payload=payload.model_dump(mode="json"), produce=create
        )
    except DomainError as error:
        return render(
            request,
            "message.html",
            settings,
            status_code=error.status,
            heading="Your request is on its way",
            text="We are still saving the request you sent a moment ago; there is no need to "
            "send it again. " + error.detail,
        )
