"""Security headers, CORS, the public rate limit, health, readiness and metrics."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.config import Settings
from booking.main import create_app
from tests.factories import appointment_request
from tests.helpers import assert_problem
from tests.servers import next_open_day, running_servers
from tests.settings import make_settings


async def client_for(settings: Settings, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://booking.test"
        ) as client:
            yield client


@pytest.fixture
async def hardened(database_url: str, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        database_url,
        public_rate_limit="3/minute",
        cors_origins="https://www.spine.example",
        public_base_url="https://book.spine.example",
    )
    async for client in client_for(settings, clock):
        yield client


async def test_every_response_carries_security_headers(client: httpx.AsyncClient) -> None:
    for response in [
        await client.get("/api/v1/reason-codes"),
        await client.get("/api/v1/nowhere"),
        await client.get("/desk/login"),
        await client.get("/book"),
    ]:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]
        assert "default-src 'self'" in response.headers["content-security-policy"]
    api = await client.get("/api/v1/reason-codes")
    assert "frame-ancestors 'none'" in api.headers["content-security-policy"]
    assert "strict-transport-security" not in api.headers  # plain http in this setting


async def test_hsts_behind_https_and_the_form_may_be_framed_by_the_practice_site(
    hardened: httpx.AsyncClient,
) -> None:
    book = await hardened.get("/book")
    assert book.headers["strict-transport-security"].startswith("max-age=")
    assert (
        "frame-ancestors 'self' https://www.spine.example"
        in book.headers["content-security-policy"]
    )
    desk = await hardened.get("/desk/login")
    assert "frame-ancestors 'none'" in desk.headers["content-security-policy"]


async def test_cors_lets_the_practice_site_post_with_an_idempotency_key(
    hardened: httpx.AsyncClient,
) -> None:
    preflight = await hardened.options(
        "/api/v1/appointments",
        headers={
            "Origin": "https://www.spine.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://www.spine.example"
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers
    stranger = await hardened.options(
        "/api/v1/appointments",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in stranger.headers


async def test_the_public_post_is_rate_limited_per_client_with_retry_after(
    hardened: httpx.AsyncClient,
) -> None:
    statuses = []
    for _ in range(4):
        response = await hardened.post("/api/v1/appointments", json=appointment_request())
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429]
    problem = assert_problem(response, 429)
    assert problem["type"] == "/problems/rate-limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    metrics = (await hardened.get("/metrics")).text
    assert 'booking_rate_limited_total{limit="public"} 1.0' in metrics


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "outbox": "ok"}


async def test_readyz_says_503_when_the_outbox_is_backlogged(
    database_url: str, clock: FrozenClock
) -> None:
    settings = make_settings(database_url, ready_max_outbox_backlog=2)
    async for client in client_for(settings, clock):
        await client.post("/api/v1/appointments", json=appointment_request())  # queues 2
        response = await client.get("/readyz")
        problem = assert_problem(response, 503)
        assert problem["checks"]["outbox"] == "backlogged"


async def test_metrics_count_requests_by_route_channel_and_the_outbox(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await client.post("/api/v1/appointments", json=appointment_request(reason_code="sciatica"))
    await client.get("/api/v1/appointments/00000000-0000-4000-8000-000000000001")
    metrics = await client.get("/metrics")  # open in development without a token
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'booking_appointment_requests_total{channel="api"} 1.0' in text
    assert (
        'booking_http_requests_total{method="POST",route="/api/v1/appointments",status="201"} 1.0'
        in text
    )
    assert 'route="/api/v1/appointments/{appointment_id}"' in text
    assert 'booking_outbox_messages{status="pending"} 2.0' in text
    assert "booking_http_request_duration_seconds_bucket" in text


def test_forwarded_addresses_count_only_from_trusted_proxies(
    database_url: str, tmp_path: Path
) -> None:
    """The rate limit keys on the client; X-Forwarded-For names it only behind a trusted proxy."""

    def statuses(**settings: str) -> list[int]:
        with running_servers(database_url, tmp_path, public_rate_limit="2/minute", **settings) as [
            url
        ]:
            body = appointment_request(preferred_windows=[{"date": next_open_day()}])
            return [
                httpx.post(
                    url + "/api/v1/appointments",
                    json=body,
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                ).status_code
                for n in range(3)
            ]

    assert statuses() == [201, 201, 429]  # untrusted: all three are 127.0.0.1
    assert statuses(trusted_proxies="127.0.0.1") == [201, 201, 201]  # three clients


def test_log_lines_are_json_with_the_request_id() -> None:
    import json
    import logging

    from booking.observability import JsonFormatter, current_request_id

    token = current_request_id.set("req-42")
    try:
        record = logging.LogRecord("booking.x", logging.INFO, __file__, 1, "hello %s", ("w",), None)
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_request_id.reset(token)
    assert line["message"] == "hello w"
    assert line["request_id"] == "req-42"
    assert line["level"] == "info"


async def test_metrics_never_tell_a_reason_code_nor_when_a_series_began(
    client: httpx.AsyncClient,
) -> None:
    """Reason codes are health data: with a timestamp (the `_created` series) or two scrapes
    around one request, a reason-code label dates one patient's reason."""
    await client.post(
        "/api/v1/appointments", json=appointment_request(reason_code="mood_related_pain")
    )
    text = (await client.get("/metrics")).text
    assert "booking_appointment_requests_total" in text
    assert "reason_code" not in text
    assert "mood_related_pain" not in text
    assert "_created" not in text


def production_settings(database_url: str, tmp_path: Path, **overrides: str) -> Settings:
    return make_settings(
        database_url,
        environment="production",
        secret_key=secrets.token_urlsafe(32),
        public_base_url="https://book.spine.example",
        notifier="file",
        mail_dir=str(tmp_path / "mail"),
        **overrides,
    )


async def test_metrics_are_off_in_production_without_a_token(
    database_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    async for client in client_for(production_settings(database_url, tmp_path), clock):
        assert_problem(await client.get("/metrics"), 404)
        assert_problem(
            await client.get("/metrics", headers={"Authorization": "Bearer anything-at-all"}), 404
        )


async def test_metrics_need_the_bearer_token_in_production(
    database_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    token = secrets.token_urlsafe(24)
    settings = production_settings(database_url, tmp_path, metrics_token=token)
    async for client in client_for(settings, clock):
        for authorization in [None, "Bearer wrong-token-wrong-token", f"Basic {token}", token]:
            headers = {"Authorization": authorization} if authorization else {}
            refused = await client.get("/metrics", headers=headers)
            assert_problem(refused, 401)
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "booking_" not in refused.text
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert scraped.status_code == 200
        assert "booking_http_requests_total" in scraped.text


async def test_the_api_docs_load_everything_from_this_origin(client: httpx.AsyncClient) -> None:
    """/docs and /redoc used to load Swagger UI and ReDoc from a CDN: blank offline."""
    for page_path in ["/docs", "/redoc", "/docs/oauth2-redirect"]:
        page = await client.get(page_path)
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "http" not in policy  # no other origin, CDN or fonts
        script_src = next(part for part in policy.split(";") if "script-src" in part)
        assert "'unsafe-inline'" not in script_src
        for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert urlsplit(asset).netloc == "", asset
            assert asset.startswith("/"), asset
            loaded = await client.get(asset)
            assert loaded.status_code == 200, asset
            assert len(loaded.content) > 300, asset
    page = (await client.get("/docs")).text
    assert "/docs/assets/swagger-ui-bundle.js" in page
    assert "/docs/assets/redoc.standalone.js" in (await client.get("/redoc")).text
    favicon = await client.get("/favicon.ico")
    assert favicon.headers["content-type"] == "image/svg+xml"
    assert favicon.text.startswith("<svg")
    assert '<link rel="icon" href="/favicon.ico"' in (await client.get("/book")).text
