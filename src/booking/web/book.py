"""/book: the hosted request form. The same schema and service as the API hold the rules."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, Response

from booking.appointments import service as appointments
from booking.appointments.models import EventSource
from booking.appointments.reasons import UrgentSymptom
from booking.appointments.rules import BookingRules, rules_context
from booking.appointments.schemas import AppointmentCreate
from booking.config import WEEKDAY_NAMES, Settings
from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep
from booking.errors import DomainError, field_errors_from_validation
from booking.idempotency.dependencies import key_record, replayed
from booking.idempotency.errors import IdempotencyKeyReused
from booking.idempotency.service import StoredResponse, request_fingerprint
from booking.security import RateLimited, public_rate_limit
from booking.web.form_stamp import FormStamp, StampVerdict, issue_stamp, judge, read_stamp
from booking.web.pages import SYMPTOM_LABELS, render

router = APIRouter(include_in_schema=False)
logger = logging.getLogger("booking.spam")

SEND_AGAIN = "Please check your details and send again."
ALREADY_SENT = (
    "We already have the request sent with this form, and our email about it is on its way. "
    "To send another request, check the details and send again."
)

# The form's fields in page order: the error summary lists them in this order.
FORM_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "is_new_patient",
    "reason_code",
    "reason_detail",
    "urgent_symptoms",
    "preferred_windows",
    *(f"{name}_{n}" for n in (1, 2, 3) for name in ("date", "part")),
    "earlier_if_possible",
    "contact_preference",
    "consent",
)
# Where a summary entry leads when the error belongs to a group rather than one field.
SUMMARY_TARGET = {"preferred_windows": "date_1"}


def page_headers(settings: Settings) -> dict[str, str]:
    """The form may be embedded on the practice's own sites (BOOKING_CORS_ORIGINS). Its pages
    hold what the patient typed, or their reference: never kept in a cache."""
    allowed = " ".join(["'self'", *settings.cors_origins])
    return {"Content-Security-Policy": f"frame-ancestors {allowed}", "Cache-Control": "no-store"}


def request_from_form(form: FormData) -> tuple[dict[str, Any], list[int]]:
    """The API's request body, and for each of its preferred windows the form's day number."""

    def text(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) and value.strip() else None

    days = [n for n in (1, 2, 3) if text(f"date_{n}")]
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
        "preferred_windows": [
            {"date": text(f"date_{n}"), "part_of_day": text(f"part_{n}") or "any"} for n in days
        ],
        "contact_preference": text("contact_preference"),
        "urgent_symptoms": [value for value in form.getlist("urgent_symptoms") if value],
        "consent": form.get("consent") == "true",
        "earlier_if_possible": form.get("earlier_if_possible") == "true",
    }
    return body, days


def form_errors(error: ValidationError, days: list[int]) -> dict[str, str]:
    """Schema errors keyed by the form's own field names, in page order (each window's errors
    next to its own day: the form leaves empty days out of the body)."""
    errors: dict[str, str] = {}
    for problem in field_errors_from_validation(error.errors()):
        parts = problem.field.split(".")
        if parts[0] == "patient" and len(parts) > 1:
            name = parts[1]
        elif parts[0] == "preferred_windows" and len(parts) > 2:
            prefix = "date" if parts[2] == "date" else "part"
            name = f"{prefix}_{days[int(parts[1])]}"
        elif parts[0] == "urgent_symptoms":
            name = "urgent_symptoms"
        else:
            name = parts[0]
        errors.setdefault(name, problem.message)
    order = {name: position for position, name in enumerate(FORM_FIELDS)}
    return dict(sorted(errors.items(), key=lambda item: order.get(item[0], len(order))))


def form_page(
    request: Request,
    settings: Settings,
    now: dt.datetime,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    stamp: FormStamp,
    notice: str | None = None,
) -> HTMLResponse:
    rules = BookingRules.from_settings(settings, now)
    return render(
        request,
        "book.html",
        settings,
        status_code=422 if errors or notice else 200,
        headers=page_headers(settings),
        # Fields never filled in read as empty (the templates' undefined variables are errors).
        values=defaultdict(str, {"urgent_symptoms": [], **values}),
        errors=defaultdict(str, errors),
        summary=[(SUMMARY_TARGET.get(name, name), message) for name, message in errors.items()],
        notice=notice,
        idempotency_key=stamp.idempotency_key,
        form_started=stamp.token(settings),
        symptoms=[{"code": s.value, "label": SYMPTOM_LABELS[s]} for s in UrgentSymptom],
        last_day=rules.last_bookable_date.strftime("%-d %B %Y"),
        open_days=", ".join(WEEKDAY_NAMES[day].title() for day in sorted(rules.open_weekdays)),
    )


@router.get("/book")
async def book_form(request: Request, settings: SettingsDep, clock: ClockDep) -> HTMLResponse:
    now = clock.now()
    return form_page(
        request,
        settings,
        now,
        values={"contact_preference": "email", "is_new_patient": True},
        errors={},
        stamp=issue_stamp(now),
    )


@router.post("/book")
async def book_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    form = await request.form()
    now = clock.now()
    values: dict[str, Any] = {name: form.get(name) for name in form if name != "urgent_symptoms"}
    values["urgent_symptoms"] = form.getlist("urgent_symptoms")

    if form.get("website"):
        # Only a bot fills the hidden field: answered like a success, so that it learns nothing.
        logger.info("spam dropped on /book (request_id=%s)", request.state.request_id)
        request.app.state.metrics.spam.inc()
        return render(
            request,
            "book_thanks.html",
            settings,
            headers=page_headers(settings),
            reference=None,
            advisory=None,
        )

    try:
        await public_rate_limit(request)
    except RateLimited as error:
        return render(
            request,
            "message.html",
            settings,
            status_code=429,
            headers={**page_headers(settings), **error.headers},
            heading="Please wait a moment",
            text=f"Many requests came from your network just now. {error.detail}",
        )
    rules = rules_context(BookingRules.from_settings(settings, now))
    body, days = request_from_form(form)
    try:
        payload: AppointmentCreate | None = AppointmentCreate.model_validate(body, context=rules)
        errors: dict[str, str] = {}
    except ValidationError as error:
        payload, errors = None, form_errors(error, days)

    stamp = read_stamp(
        settings,
        token=str(form.get("form_started") or ""),
        idempotency_key=str(form.get("idempotency_key") or ""),
    )
    verdict = judge(settings, stamp, now)
    if verdict is not StampVerdict.ok:
        # Possibly a bot, possibly a quick person: never a silent drop, the form comes back.
        # A stamp that is merely young keeps counting; any other gets a new one.
        logger.info("form stamp %s on /book (request_id=%s)", verdict, request.state.request_id)
        carried = stamp if stamp is not None and verdict is StampVerdict.too_fast else None
        return form_page(
            request,
            settings,
            now,
            values=values,
            errors=errors,
            stamp=carried or issue_stamp(now),
            notice=SEND_AGAIN,
        )
    assert stamp is not None
    if payload is None:
        return form_page(request, settings, now, values=values, errors=errors, stamp=stamp)

    def thanks(created: appointments.CreatedAppointment) -> StoredResponse:
        """The thank-you page, rendered before the request is written: it is stored under the
        form's key in the same statement, and replayed for a double click."""
        page = render(
            request,
            "book_thanks.html",
            settings,
            reference=created.reference,
            advisory=created.advisory,
        )
        return StoredResponse(200, bytes(page.body).decode(), {"content-type": "text/html"})

    # The same one-statement write as the API's POST; the form's stamp is its Idempotency-Key.
    keyed = key_record(
        stamp.idempotency_key,
        scope="public",
        # The form has no JSON body to hash as sent: its parsed request is fingerprinted.
        fingerprint=request_fingerprint("POST", "/book", payload.model_dump(mode="json")),
        settings=settings,
    )
    try:
        outcome = await appointments.create_appointment(
            session,
            request=payload,
            settings=settings,
            now=now,
            actor=appointments.Actor(source=EventSource.web),
            keyed=keyed,
            respond=thanks,
        )
    except IdempotencyKeyReused:
        # The stamp already produced a stored request; a different one needs a form of its own.
        return form_page(
            request,
            settings,
            now,
            values=values,
            errors={},
            stamp=issue_stamp(now),
            notice=ALREADY_SENT,
        )
    except DomainError as error:
        return render(
            request,
            "message.html",
            settings,
            status_code=error.status,
            headers=page_headers(settings),
            heading="Your request is on its way",
            text="We are still saving the request you sent a moment ago; there is no need to "
            "send it again. " + error.detail,
        )
    if isinstance(outcome, StoredResponse):
        response = replayed(outcome)
    else:
        request.app.state.metrics.appointment_stored(
            "form", receipt_skipped=outcome.receipt_skipped
        )
        stored = outcome.response
        assert stored is not None
        response = Response(stored.body, status_code=stored.status, headers=stored.headers)
    # A replayed response carries only its stored headers; the page's own are set again.
    response.headers.update(page_headers(settings))
    return response
