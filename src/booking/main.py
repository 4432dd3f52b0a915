"""``create_app(settings)``: the application, its lifespan, handlers and routers."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from booking import __version__
from booking.api_docs import install_api_docs
from booking.apikeys.routes import router as api_keys_router
from booking.appointments.routes import desk_reads_router as appointments_desk_reads_router
from booking.appointments.routes import desk_router as appointments_desk_router
from booking.appointments.routes import public_router as appointments_public_router
from booking.availability.routes import desk_router as availability_desk_router
from booking.availability.routes import router as availability_router
from booking.clock import Clock, SystemClock
from booking.config import Settings, load_settings, resolve_secret_key
from booking.db import create_engine, create_sessionmaker
from booking.errors import install_problem_handlers
from booking.fhir.routes import router as fhir_router
from booking.health import router as health_router
from booking.jobs.scheduler import Scheduler
from booking.manage.routes import router as manage_router
from booking.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    RetryOnLostConnection,
)
from booking.notifications.notifiers import load_notifier
from booking.notifications.relay import Relay
from booking.notifications.service import wake_on_commit
from booking.notifications.webhook_docs import declare_webhooks
from booking.observability import Metrics
from booking.openapi import build_document, operation_id
from booking.providers.routes import router as providers_router
from booking.security import PublicRateLimit, SecurityHeadersMiddleware, limits_storage
from booking.staff.routes import router as staff_router
from booking.staff.throttle import SignInThrottle
from booking.waitlist.routes import router as waitlist_router
from booking.web import book as web_book
from booking.web import desk as web_desk
from booking.web import diary as web_diary
from booking.web import hours as web_hours
from booking.web import manage as web_manage
from booking.web import offer as web_offer

API_DESCRIPTION = """
Appointment requests for a spine practice. The practice's website form posts a request
(`createAppointment`); the front desk confirms it with a time; the patient is kept informed.

Every error is an RFC 9457 problem (`application/problem+json`). A 422 lists each bad field
by path in `errors` and never echoes what was sent. Send an `Idempotency-Key` header on every
POST to make retries safe.
"""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = resolve_secret_key(settings or load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        # One store for every rate limit: memory in one process, Redis across replicas.
        limits = limits_storage(settings.rate_limit_storage_url)
        app.state.sign_in_throttle = SignInThrottle(settings, limits)
        app.state.public_rate_limit = PublicRateLimit(settings, limits)
        http = httpx.AsyncClient(timeout=10)
        stop = asyncio.Event()
        relay_task = scheduler_task = None
        if settings.relay_in_process:
            relay = Relay(
                sessionmaker=app.state.sessionmaker,
                settings=settings,
                clock=app.state.clock,
                notifier=load_notifier(settings),
                http=http,
            )
            # A commit that queued messages wakes it; otherwise it polls.
            wake_on_commit(app.state.sessionmaker, relay.wakeup)
            relay_task = asyncio.create_task(relay.run(stop), name="outbox relay")
            # Timed work (reminders, expiry, the digest) runs where delivery runs.
            scheduler = Scheduler(
                sessionmaker=app.state.sessionmaker, settings=settings, clock=app.state.clock
            )
            scheduler_task = asyncio.create_task(scheduler.run(stop), name="scheduler")
        try:
            yield
        finally:
            # Graceful: the relay finishes the batch in hand, then the connections close.
            stop.set()
            if relay_task is not None:
                await relay_task
            if scheduler_task is not None:
                await scheduler_task
            await http.aclose()
            await engine.dispose()

    app = FastAPI(
        title="booking",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # Served by install_api_docs from installed assets instead of FastAPI's CDN pages.
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry spans would record literal paths (the manage link's
        # token) and query strings (a desk search is a patient's name); it also asks the
        # OpenTelemetry API for its providers on every request. Our metrics and access log
        # name route templates only (booking.observability).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.metrics = Metrics()

    install_problem_handlers(app)
    app.include_router(health_router)
    app.include_router(appointments_public_router)
    app.include_router(staff_router)
    app.include_router(appointments_desk_reads_router)
    app.include_router(appointments_desk_router)
    app.include_router(providers_router)
    app.include_router(availability_router)
    app.include_router(availability_desk_router)
    app.include_router(manage_router)
    app.include_router(fhir_router)
    app.include_router(api_keys_router)
    app.include_router(waitlist_router)
    declare_webhooks(app)

    # Pages for people: the desk, the hosted form, the patient's link. Assets are served here.
    app.include_router(web_desk.router)
    app.include_router(web_diary.router)
    app.include_router(web_hours.router)
    app.include_router(web_book.router)
    app.include_router(web_manage.router)
    app.include_router(web_offer.router)
    app.mount("/static", StaticFiles(packages=[("booking.web", "static")]), name="static")
    docs_policy = install_api_docs(app)

    async def to_sign_in(request: Request, error: Exception) -> Response:
        return RedirectResponse("/desk/login", status_code=303)

    app.add_exception_handler(web_desk.LoginRequired, to_sign_in)
    app.add_exception_handler(web_hours.NotAnAdmin, web_hours.refuse_non_admin)

    # Outermost last: request id and errors around everything, then headers, CORS, body limit,
    # and innermost the one retry of a request whose pooled connection was found dead.
    app.add_middleware(RetryOnLostConnection)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Idempotency-Key"],
            expose_headers=["Location", "Retry-After", "X-Request-ID", "Idempotent-Replayed"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(
        SecurityHeadersMiddleware,
        hsts=settings.served_over_https,
        docs_policy=docs_policy,
    )
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app


def create_app_from_environment() -> FastAPI:
    """Factory for uvicorn (``--factory``): settings from BOOKING_* variables and .env.

    The objects made so far (modules, routes, models: most of the heap, and alive until the
    process ends) are moved out of the garbage collector's sight: each full collection under
    load no longer walks them, which cut both CPU and the long-tail pauses (docs/performance.md).
    """
    app = create_app()
    gc.freeze()
    return app
