"""Responses with patient data carry Cache-Control: no-store, whatever shape they come in."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from booking.clock import FrozenClock
from tests.helpers import chicago, create_request, manage_token


async def test_the_staff_api_answers_with_no_store(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    confirm = {"start": chicago("2026-12-07", "10:00")}
    responses = {
        "list": await client.get("/api/v1/appointments", headers=desk),
        "detail": await client.get(f"/api/v1/appointments/{appointment_id}", headers=desk),
        "events": await client.get(f"/api/v1/appointments/{appointment_id}/events", headers=desk),
        "action": await client.post(
            f"/api/v1/appointments/{appointment_id}/confirm",
            json=confirm,
            headers={**desk, "Idempotency-Key": "no-store-1"},
        ),
        "replayed action": await client.post(
            f"/api/v1/appointments/{appointment_id}/confirm",
            json=confirm,
            headers={**desk, "Idempotency-Key": "no-store-1"},
        ),
        "not found": await client.get(f"/api/v1/appointments/{uuid.uuid4()}", headers=desk),
    }
    statuses = {name: response.status_code for name, response in responses.items()}
    assert statuses == {
        "list": 200,
        "detail": 200,
        "events": 200,
        "action": 200,
        "replayed action": 200,
        "not found": 404,
    }
    assert {name: r.headers.get("cache-control") for name, r in responses.items()} == dict.fromkeys(
        responses, "no-store"
    )


async def test_the_manage_api_answers_with_no_store(
    app: FastAPI, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    appointment_id = await create_request(client)
    token = await manage_token(app, appointment_id)
    view = await client.get(f"/api/v1/manage/{token}")
    cancelled = await client.post(f"/api/v1/manage/{token}/cancel")
    assert (view.status_code, cancelled.status_code) == (200, 200)
    assert view.headers["cache-control"] == "no-store"
    assert cancelled.headers["cache-control"] == "no-store"


async def test_public_answers_without_patient_data_may_be_cached(
    client: httpx.AsyncClient,
) -> None:
    assert "cache-control" not in (await client.get("/api/v1/reason-codes")).headers


async def test_the_openapi_document_declares_no_store(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path, method in [
        ("/api/v1/appointments", "get"),
        ("/api/v1/appointments/{appointment_id}", "get"),
        ("/api/v1/appointments/{appointment_id}/confirm", "post"),
        ("/api/v1/manage/{token}", "get"),
    ]:
        assert "Cache-Control" in paths[path][method]["responses"]["200"]["headers"], path
