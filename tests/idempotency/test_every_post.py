"""Idempotency-Key on every POST of the API: honoured (one resource, the replay marked), a
different request under the same key refused (422), or, where a key makes no sense, refused
(422 naming the header): never silently ignored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from tests.helpers import assert_problem, create_request, manage_token
from tests.staff.helpers import STAFF_PASSWORD, add_staff

# The POSTs of the API that take no key, and why (a sign-in issues a new token each time).
# A token or a new API key is never stored for a replay: these refuse a key (tested below and
# in tests/apikeys).
REFUSE_A_KEY = {"signIn", "createApiKey"}


def test_every_post_declares_idempotency_key_or_refuses_one() -> None:
    from booking.main import create_app
    from tests.settings import make_settings

    spec = create_app(make_settings("sqlite:///unused.db")).openapi()
    posts = {
        operation["operationId"]: {p["name"] for p in operation.get("parameters", [])}
        for methods in spec["paths"].values()
        for method, operation in methods.items()
        if method == "post"
    }
    undeclared = {name for name, parameters in posts.items() if "Idempotency-Key" not in parameters}
    assert undeclared == REFUSE_A_KEY


async def first_provider(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    return str((await client.get("/api/v1/providers", headers=admin)).json()[0]["id"])


async def providers(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    return len((await client.get("/api/v1/providers", headers=admin)).json())


async def staff_accounts(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    return len((await client.get("/api/v1/staff", headers=admin)).json())


async def time_off(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    provider = await first_provider(client, admin)
    hours = (await client.get(f"/api/v1/providers/{provider}/hours", headers=admin)).json()
    return len(hours["time_off"])


def new_staff(name: str) -> dict[str, Any]:
    email = f"{name.lower()}@practice.example"
    return {"email": email, "display_name": name, "password": STAFF_PASSWORD}


def new_time_off(day: int) -> dict[str, Any]:
    return {
        "start": f"2030-01-{day:02d}T00:00:00-06:00",
        "end": f"2030-01-{day + 1:02d}T00:00:00-06:00",
    }


Counter = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[int]]
CREATES: dict[str, tuple[str, dict[str, Any], dict[str, Any], Counter]] = {
    "addProvider": ("/api/v1/providers", {"name": "Dr. Two"}, {"name": "Dr. Three"}, providers),
    "createStaff": ("/api/v1/staff", new_staff("Bea"), new_staff("Cy"), staff_accounts),
    "addProviderTimeOff": (
        "/api/v1/providers/{provider}/time-off",
        new_time_off(7),
        new_time_off(9),
        time_off,
    ),
}


@pytest.mark.parametrize("operation", sorted(CREATES))
async def test_two_identical_keyed_posts_make_one_resource_and_a_different_body_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], operation: str
) -> None:
    path, body, other_body, count = CREATES[operation]
    path = path.format(provider=await first_provider(client, admin))
    before = await count(client, admin)
    keyed = {**admin, "Idempotency-Key": f"{operation}-1"}

    first = await client.post(path, json=body, headers=keyed)
    again = await client.post(path, json=body, headers=keyed)
    other = await client.post(path, json=other_body, headers=keyed)

    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count(client, admin) == before + 1
    assert assert_problem(other, 422)["type"] == "/problems/idempotency-key-reused"
    assert STAFF_PASSWORD not in other.text


async def test_without_a_key_two_posts_make_two_providers(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The control: the key, not something else, made the retry above harmless."""
    before = await providers(client, admin)
    for _ in range(2):
        response = await client.post("/api/v1/providers", json={"name": "Dr. Two"}, headers=admin)
        assert response.status_code == 201
    assert await providers(client, admin) == before + 2


async def test_a_password_is_part_of_the_request_a_key_stands_for(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    keyed = {**admin, "Idempotency-Key": "staff-password"}
    await client.post("/api/v1/staff", json=new_staff("Di"), headers=keyed)
    other = {**new_staff("Di"), "password": "another long password"}
    assert (await client.post("/api/v1/staff", json=other, headers=keyed)).status_code == 422


@pytest.mark.parametrize("action", ["deactivate", "end-sessions"])
async def test_a_keyed_staff_action_replays_its_first_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    staff_password_hash: str,
    action: str,
) -> None:
    clerk = await add_staff(app, staff_password_hash, email="clerk2@practice.example")
    other = await add_staff(app, staff_password_hash, email="clerk3@practice.example")
    keyed = {**admin, "Idempotency-Key": f"{action}-1"}

    first = await client.post(f"/api/v1/staff/{clerk.id}/{action}", headers=keyed)
    again = await client.post(f"/api/v1/staff/{clerk.id}/{action}", headers=keyed)
    elsewhere = await client.post(f"/api/v1/staff/{other.id}/{action}", headers=keyed)

    assert (first.status_code, again.status_code) == (200, 200), first.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert assert_problem(elsewhere, 422)["type"] == "/problems/idempotency-key-reused"


async def test_a_keyed_manage_cancel_replays_the_cancellation(
    app: FastAPI, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    appointment_id = await create_request(client)
    token = await manage_token(app, appointment_id)
    keyed = {"Idempotency-Key": "cancel-1"}

    first = await client.post(f"/api/v1/manage/{token}/cancel", headers=keyed)
    again = await client.post(f"/api/v1/manage/{token}/cancel", headers=keyed)
    unkeyed = await client.post(f"/api/v1/manage/{token}/cancel")

    assert (first.status_code, again.status_code) == (200, 200), first.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["cache-control"] == "no-store"
    assert assert_problem(unkeyed, 409)["type"] == "/problems/appointment-closed"


async def test_a_sign_in_with_a_key_is_a_422_naming_the_header(
    client: httpx.AsyncClient, admin_account: Any
) -> None:
    form = {"username": admin_account.email, "password": STAFF_PASSWORD}
    refused = await client.post("/api/v1/auth/token", data=form, headers={"Idempotency-Key": "k"})
    problem = assert_problem(refused, 422)
    assert [error["field"] for error in problem["errors"]] == ["header.Idempotency-Key"]
    assert (await client.post("/api/v1/auth/token", data=form)).status_code == 200
