"""Idempotency-Key on the public POST: replay, reuse, in-progress, races, expiry."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.idempotency import service
from tests.factories import appointment_request
from tests.helpers import assert_problem, stored_appointments


def body(**changes: object) -> bytes:
    return json.dumps(appointment_request(**changes)).encode()


async def post(client: httpx.AsyncClient, key: str, **changes: object) -> httpx.Response:
    return await client.post(
        "/api/v1/appointments",
        content=body(**changes),
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )


async def test_same_key_and_body_replays_the_stored_response(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    first = await post(client, "key-1")
    again = await post(client, "key-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(await stored_appointments(app)) == 1


async def test_same_key_with_a_different_body_gets_422(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await post(client, "key-2")
    other = await post(client, "key-2", patient__first_name="Someone Else")

    problem = assert_problem(other, 422)
    assert problem["type"] == "/problems/idempotency-key-reused"
    assert "Someone" not in other.text
    assert len(await stored_appointments(app)) == 1


async def test_different_keys_create_different_requests(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await post(client, "key-a")
    await post(client, "key-b")
    assert len(await stored_appointments(app)) == 2


async def test_a_key_still_in_progress_gets_409(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    # The first request has claimed the key and is still running.
    await claim(app, clock, "key-busy", body())

    response = await post(client, "key-busy")

    problem = assert_problem(response, 409)
    assert problem["type"] == "/problems/idempotency-key-in-use"
    assert response.headers["retry-after"] == "1"
    assert await stored_appointments(app) == []


async def test_a_claim_abandoned_by_a_crashed_request_is_taken_over(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    await claim(app, clock, "key-crashed", body())
    clock.advance(service.STALE_CLAIM + dt.timedelta(seconds=1))

    response = await post(client, "key-crashed")

    assert response.status_code == 201, response.text
    assert len(await stored_appointments(app)) == 1


async def test_keys_expire_after_24_hours(
    client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    await post(client, "key-old")
    clock.advance(dt.timedelta(hours=24, seconds=1))

    response = await post(client, "key-old", patient__first_name="Later")

    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    assert len(await stored_appointments(app)) == 2


async def test_a_rejected_request_is_replayed_as_rejected_without_storing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    bad = await post(client, "key-bad", consent=False)
    assert_problem(bad, 422)
    fixed = await post(client, "key-bad")  # a different body: the key was never used
    assert fixed.status_code == 201, fixed.text


async def test_an_invalid_key_gets_422_naming_the_header(client: httpx.AsyncClient) -> None:
    response = await post(client, "x" * 256)
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "header.Idempotency-Key"


async def test_a_double_submit_racing_itself_creates_one_request(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    responses = await asyncio.gather(*(post(client, "key-race") for _ in range(20)))

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    originals = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    assert {r.json()["id"] for r in created} == {originals[0].json()["id"]}
    assert len(await stored_appointments(app)) == 1


async def claim(app: FastAPI, clock: FrozenClock, key: str, sent: bytes) -> None:
    """Claim a key the way a claim-first request that is still running has done (staff
    actions claim first; a public POST's record never shows half-done, but a crash of the
    release before this one may have left such a claim)."""
    fingerprint = service.body_fingerprint("POST", "/api/v1/appointments", sent)
    keyed = service.KeyedRequest("public", key, fingerprint, dt.timedelta(hours=24))
    async with app.state.sessionmaker() as session, session.begin():
        assert await service.claim_key(session, keyed, clock.now())
