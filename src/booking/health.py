"""/healthz (the process answers), /readyz (it can do its job), /metrics (Prometheus)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from booking import migrations
from booking.config import Environment
from booking.dependencies import SettingsDep
from booking.errors import NotReady, problem_response
from booking.notifications.models import OutboxStatus, outbox_messages
from booking.problem_docs import problem_responses
from booking.staff.errors import NotAuthenticated

router = APIRouter(tags=["operations"])

SCRAPER_MUST_AUTHENTICATE = "Send Authorization: Bearer <BOOKING_METRICS_TOKEN>."


@router.get("/healthz", summary="Is the process alive")
async def get_health() -> dict[str, str]:
    """Answers as long as the process does; it touches nothing else."""
    return {"status": "ok"}


async def _outbox_counts(request: Request) -> dict[str, int]:
    table = outbox_messages
    async with request.app.state.sessionmaker() as session:
        rows = await session.execute(
            select(table.c.status, func.count())
            .where(table.c.status.in_([OutboxStatus.pending, OutboxStatus.dead]))
            .group_by(table.c.status)
        )
        counts = {str(status): int(count) for status, count in rows}
    return {status: counts.get(status, 0) for status in (OutboxStatus.pending, OutboxStatus.dead)}


@router.get(
    "/readyz",
    summary="Can the service do its job",
    responses=problem_responses(503),
)
async def get_readiness(request: Request, settings: SettingsDep) -> Response:
    """The database answers, its migrations are at head, and the outbox backlog is below
    BOOKING_READY_MAX_OUTBOX_BACKLOG. 503 problem naming what is wrong otherwise."""
    checks: dict[str, str] = {}
    try:
        async with request.app.state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
        pending = await migrations.pending_migrations(request.app.state.engine)
        checks["migrations"] = "pending" if pending else "ok"
        backlog = (await _outbox_counts(request))[OutboxStatus.pending]
        checks["outbox"] = "ok" if backlog < settings.ready_max_outbox_backlog else "backlogged"
    except Exception as error:  # the database is away: not ready, and say so
        checks.setdefault("database", f"unreachable ({type(error).__name__})")
    if all(value == "ok" for value in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    return problem_response(NotReady(checks).payload())


async def metrics_access(request: Request, settings: SettingsDep) -> None:
    """With BOOKING_METRICS_TOKEN set, only its bearer may scrape; without it, /metrics is open
    in development and does not exist in production."""
    if not settings.metrics_token:
        if settings.environment is Environment.production:
            raise HTTPException(404)
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), settings.metrics_token.encode()
    ):
        raise NotAuthenticated(SCRAPER_MUST_AUTHENTICATE)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    dependencies=[Depends(metrics_access)],
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        **problem_responses(NotAuthenticated(SCRAPER_MUST_AUTHENTICATE), 404),
    },
)
async def get_metrics(request: Request) -> Response:
    """Requests and latency by route template, appointment requests by channel, outbox pending
    and dead, rate-limited and spam counts. Per process: scrape every replica. In production it
    needs `Authorization: Bearer <BOOKING_METRICS_TOKEN>`, and is off (404) without that
    setting."""
    registry = request.app.state.metrics
    try:
        for status, count in (await _outbox_counts(request)).items():
            registry.outbox.labels(status).set(count)
    except Exception:  # metrics still answer while the database is away
        registry.outbox.clear()
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
