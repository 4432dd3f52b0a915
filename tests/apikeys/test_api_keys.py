"""API keys: created by admins and shown once, stored as a hash, limited by their scopes (a 403
names the missing one), revoked at once, and their use recorded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from booking.apikeys.models import ApiKey
from booking.clock import FrozenClock
from tests.factories import appointment_request
from tests.helpers import assert_problem, chicago, create_request
from tests.servers import booking_env, next_open_day, run_booking, running_servers

MONDAY = "2026-12-07"


async def create_key(client: httpx.AsyncClient, admin: dict[str, str], *scopes: str) -> Any:
    response = await client.post(
        "/api/v1/api-keys", json={"name": "Practice EHR", "scopes": list(scopes)}, headers=admin
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_is_shown_once_and_stored_only_as_a_hash(
    client: httpx.AsyncClient, app: FastAPI, admin: dict[str, str]
) -> None:
    created = await create_key(client, admin, "fhir:read", "appointments:read")
    assert created["key"].startswith("bk_")
    assert len(created["key"]) > 40
    assert created["scopes"] == ["fhir:read", "appointments:read"]

    listed = (await client.get("/api/v1/api-keys", headers=admin)).json()
    assert [key["id"] for key in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert created["key"] not in str(listed)
    async with app.state.sessionmaker() as session:
        stored = (await session.execute(select(ApiKey))).scalar_one()
    assert created["key"] not in str(stored.model_dump())
    assert stored.secret_hash != created["key"]


async def test_each_scope_opens_its_operations_only_and_a_403_names_the_missing_one(
    client: httpx.AsyncClient, admin: dict[str, str], desk: dict[str, str]
) -> None:
    appointment_id = await create_request(client)
    fhir_only = bearer((await create_key(client, admin, "fhir:read"))["key"])

    assert (await client.get("/fhir/r4/metadata", headers=fhir_only)).status_code == 200
    fhir = await client.get(f"/fhir/r4/Appointment/{appointment_id}", headers=fhir_only)
    assert fhir.status_code == 200

    refused = await client.get("/api/v1/appointments", headers=fhir_only)
    assert assert_problem(refused, 403)["type"] == "/problems/missing-scope"
    assert "appointments:read" in refused.json()["detail"]
    confirm = await client.post(
        f"/api/v1/appointments/{appointment_id}/confirm",
        json={"start": chicago(MONDAY, "09:00")},
        headers=fhir_only,
    )
    assert "appointments:write" in assert_problem(confirm, 403)["detail"]
    # Staff-only operations are not for keys, whatever their scopes.
    for path in ("/api/v1/api-keys", "/api/v1/staff/me", "/api/v1/providers"):
        response = await client.get(path, headers=fhir_only)
        assert assert_problem(response, 403)["type"] == "/problems/staff-only", path

    reader = bearer((await create_key(client, admin, "appointments:read"))["key"])
    assert (await client.get("/api/v1/appointments", headers=reader)).status_code == 200
    fhir = await client.get("/fhir/r4/metadata", headers=reader)
    assert fhir.status_code == 403
    assert "fhir:read" in fhir.json()["issue"][0]["diagnostics"]  # an OperationOutcome there


async def test_a_change_made_with_a_key_is_recorded_as_the_keys(
    client: httpx.AsyncClient, admin: dict[str, str], desk: dict[str, str]
) -> None:
    created = await create_key(client, admin, "appointments:read", "appointments:write")
    machine = {**bearer(created["key"]), "Idempotency-Key": "ehr-confirm-1"}
    appointment_id = await create_request(client)
    body = {"start": chicago(MONDAY, "09:00")}
    url = f"/api/v1/appointments/{appointment_id}/confirm"
    first = await client.post(url, json=body, headers=machine)
    again = await client.post(url, json=body, headers=machine)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["idempotent-replayed"] == "true"
    # A key is its own caller: a staff member's same Idempotency-Key is another request.
    staff_try = await client.post(
        url, json=body, headers={**desk, "Idempotency-Key": "ehr-confirm-1"}
    )
    assert staff_try.status_code == 409

    events = (await client.get(f"{url.rsplit('/', 1)[0]}/events", headers=desk)).json()
    confirmed = events[-1]
    assert confirmed["action"] == "confirmed"
    assert (confirmed["source"], confirmed["actor_api_key_id"], confirmed["actor_staff_id"]) == (
        "api",
        created["id"],
        None,
    )


async def test_revoking_stops_a_key_at_once_and_its_last_use_is_kept(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FrozenClock
) -> None:
    created = await create_key(client, admin, "appointments:read")
    reader = bearer(created["key"])
    assert (await client.get("/api/v1/appointments", headers=reader)).status_code == 200
    used_at = clock.now()
    clock.advance(dt.timedelta(seconds=5))

    revoked = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=admin)
    assert revoked.status_code == 204
    after = await client.get("/api/v1/appointments", headers=reader)
    assert assert_problem(after, 401)["type"] == "/problems/invalid-token"
    (listed,) = (await client.get("/api/v1/api-keys", headers=admin)).json()
    assert dt.datetime.fromisoformat(listed["last_used_at"]) == used_at
    assert listed["revoked_at"] is not None

    unknown = await client.delete(
        "/api/v1/api-keys/00000000-0000-4000-8000-000000000000", headers=admin
    )
    assert assert_problem(unknown, 404)["type"] == "/problems/api-key-not-found"
    made_up = await client.get("/api/v1/appointments", headers=bearer("bk_" + "x" * 43))
    assert assert_problem(made_up, 401)["type"] == "/problems/invalid-token"


async def test_only_admins_create_keys_and_never_with_an_idempotency_key(
    client: httpx.AsyncClient, admin: dict[str, str], desk: dict[str, str]
) -> None:
    body = {"name": "EHR", "scopes": ["fhir:read"]}
    by_desk = await client.post("/api/v1/api-keys", json=body, headers=desk)
    assert by_desk.status_code == 403
    keyed = await client.post(
        "/api/v1/api-keys", json=body, headers={**admin, "Idempotency-Key": "k-1"}
    )
    assert assert_problem(keyed, 422)["errors"][0]["field"] == "header.Idempotency-Key"
    for bad in ({"name": "EHR", "scopes": []}, {"name": "EHR", "scopes": ["everything"]}):
        refused = await client.post("/api/v1/api-keys", json=bad, headers=admin)
        assert assert_problem(refused, 422)["errors"][0]["field"].startswith("scopes")
    assert (await client.get("/api/v1/api-keys", headers=admin)).json() == []


def test_the_cli_prints_the_key_alone_and_it_works(database_url: str, tmp_path: Path) -> None:
    env = booking_env(database_url)
    with running_servers(database_url, tmp_path) as [url]:
        made = run_booking(
            "apikey", "create", "Practice EHR", "--scope", "fhir:read", env=env, cwd=tmp_path
        )
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip()
        assert key.startswith("bk_")
        assert made.stdout == key + "\n"  # nothing else on stdout: `KEY=$(booking apikey …)`
        with httpx.Client(base_url=url, headers=bearer(key)) as http:
            assert http.get("/fhir/r4/metadata").status_code == 200
            assert http.get("/api/v1/appointments").status_code == 403
            request = appointment_request(
                preferred_windows=[{"date": next_open_day(), "part_of_day": "any"}]
            )
            assert http.post("/api/v1/appointments", json=request).status_code == 201
    bad = run_booking("apikey", "create", "EHR", "--scope", "everything", env=env, cwd=tmp_path)
    assert bad.returncode != 0
    assert "everything" in bad.stderr
