"""Sign-in, tokens, throttling, and what each role may do."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.staff.tokens import ALGORITHM, AUDIENCE, ISSUER, signing_key
from tests.helpers import assert_problem
from tests.staff.helpers import STAFF_PASSWORD


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def test_a_clerk_signs_in_and_the_token_works(
    client: httpx.AsyncClient, desk_account: Any
) -> None:
    response = await sign_in(client, "Desk@Practice.example ", STAFF_PASSWORD)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60
    assert response.headers["cache-control"] == "no-store"  # RFC 6749 §5.1
    me = await client.get(
        "/api/v1/staff/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == "desk@practice.example"
    assert me.json()["role"] == "front_desk"


@pytest.mark.parametrize(
    ("email", "password"),
    [("desk@practice.example", "wrong password!!"), ("nobody@practice.example", STAFF_PASSWORD)],
    ids=["wrong password", "unknown email"],
)
async def test_wrong_credentials_get_401_without_saying_which_part(
    client: httpx.AsyncClient, desk_account: Any, email: str, password: str
) -> None:
    response = await sign_in(client, email, password)
    problem = assert_problem(response, 401)
    assert problem["type"] == "/problems/invalid-credentials"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_deactivated_account_cannot_sign_in(
    client: httpx.AsyncClient, desk_account: Any, admin: dict[str, str]
) -> None:
    deactivated = await client.post(f"/api/v1/staff/{desk_account.id}/deactivate", headers=admin)
    assert deactivated.status_code == 200
    assert_problem(await sign_in(client, "desk@practice.example", STAFF_PASSWORD), 401)


async def test_repeated_failures_throttle_the_account_even_with_the_right_password(
    client: httpx.AsyncClient, desk_account: Any
) -> None:
    for _ in range(5):
        assert_problem(await sign_in(client, "desk@practice.example", "wrong password!!"), 401)

    response = await sign_in(client, "desk@practice.example", STAFF_PASSWORD)

    problem = assert_problem(response, 429)
    assert problem["type"] == "/problems/too-many-sign-in-attempts"
    assert 1 <= int(response.headers["retry-after"]) <= 15 * 60


async def test_one_client_failing_on_many_accounts_is_throttled(
    client: httpx.AsyncClient, desk_account: Any
) -> None:
    for number in range(20):
        await sign_in(client, f"guess{number}@practice.example", "wrong password!!")
    response = await sign_in(client, "desk@practice.example", STAFF_PASSWORD)
    assert_problem(response, 429)


async def test_a_form_body_is_required_for_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})
    assert_problem(response, 422)


# --- every staff endpoint refuses a bad token --------------------------------------------------


def staff_operations(app: FastAPI) -> list[tuple[str, str]]:
    spec = app.openapi()
    operations = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if operation.get("security"):
                operations.append((method.upper(), path))
    return operations


def forged(claims: dict[str, Any], key: bytes, algorithm: str = ALGORITHM) -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def claims_for(account: Any, now: dt.datetime, **changes: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(account.id),
        "gen": account.token_generation,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(minutes=30)).timestamp()),
    }
    claims.update(changes)
    return claims


async def test_every_staff_endpoint_refuses_missing_and_bad_tokens(
    client: httpx.AsyncClient, app: FastAPI, admin_account: Any, clock: FrozenClock
) -> None:
    now = clock.now()
    key = signing_key(app.state.settings.secret_key)
    admin_claims = claims_for(admin_account, now)
    bad_tokens = {
        "no token": None,
        "garbage": "not-a-token",
        "expired": forged(
            claims_for(admin_account, now, exp=int((now - dt.timedelta(seconds=1)).timestamp())),
            key,
        ),
        "other key": forged(admin_claims, signing_key("another secret key entirely")),
        "alg none": unsigned(admin_claims),
        "wrong issuer": forged(claims_for(admin_account, now, iss="someone-else"), key),
        "wrong audience": forged(claims_for(admin_account, now, aud="patients"), key),
        "old generation": forged(claims_for(admin_account, now, gen=-1), key),
        "HS512": forged(admin_claims, key, "HS512"),
    }
    operations = staff_operations(app)
    assert len(operations) >= 12, operations

    failures = []
    for method, path in operations:
        url = path.replace("{appointment_id}", "0" * 8 + "-0000-4000-8000-" + "0" * 12)
        url = url.replace("{staff_id}", str(admin_account.id))
        for name, token in bad_tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await client.request(method, url, headers=headers, json={})
            if (
                response.status_code != 401
                or "bearer" not in response.headers.get("www-authenticate", "").lower()
            ):
                failures.append((method, path, name, response.status_code))
    assert failures == []


async def test_a_deactivated_accounts_token_stops_working_at_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    desk: dict[str, str],
    desk_account: Any,
    admin: dict[str, str],
) -> None:
    assert (await client.get("/api/v1/appointments", headers=desk)).status_code == 200
    await client.post(f"/api/v1/staff/{desk_account.id}/deactivate", headers=admin)
    response = await client.get("/api/v1/appointments", headers=desk)
    problem = assert_problem(response, 401)
    assert problem["type"] == "/problems/invalid-token"


async def test_a_token_expires_after_its_lifetime(
    client: httpx.AsyncClient, desk_account: Any, clock: FrozenClock
) -> None:
    signed_in = await sign_in(client, "desk@practice.example", STAFF_PASSWORD)
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    clock.advance(dt.timedelta(minutes=29))
    assert (await client.get("/api/v1/appointments", headers=headers)).status_code == 200
    clock.advance(dt.timedelta(minutes=1))
    assert_problem(await client.get("/api/v1/appointments", headers=headers), 401)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/staff", None),
        (
            "POST",
            "/api/v1/staff",
            {"email": "new@practice.example", "display_name": "New", "password": "x" * 12},
        ),
        ("POST", "/api/v1/staff/{me}/deactivate", None),
        ("POST", "/api/v1/providers", {"name": "Dr. Second"}),
    ],
)
async def test_the_front_desk_role_cannot_do_admin_things(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    desk_account: Any,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    url = path.replace("{me}", str(desk_account.id))
    response = await client.request(method, url, headers=desk, json=body)
    problem = assert_problem(response, 403)
    assert problem["type"] == "/problems/forbidden"


async def test_an_admin_creates_a_clerk_who_can_sign_in(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    password = "a long enough password"

    async def add_clerk(email: str, display_name: str) -> httpx.Response:
        account = {"email": email, "display_name": display_name, "password": password}
        return await client.post("/api/v1/staff", headers=admin, json=account)

    created = await add_clerk("New.Clerk@practice.example", "New Clerk")
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "new.clerk@practice.example"
    assert "password" not in created.text
    again = await add_clerk("new.clerk@practice.example", "Twin")
    assert_problem(again, 409)
    signed_in = await sign_in(client, "new.clerk@practice.example", password)
    assert signed_in.status_code == 200


async def test_a_password_reset_ends_older_tokens(
    client: httpx.AsyncClient,
    app: FastAPI,
    desk: dict[str, str],
    desk_account: Any,
    clock: FrozenClock,
) -> None:
    from booking.staff import service

    async with app.state.sessionmaker() as session, session.begin():
        account = await service.get_staff(session, desk_account.id)
        await service.reset_password(
            session, account=account, password="a brand new password", now=clock.now()
        )
    assert_problem(await client.get("/api/v1/staff/me", headers=desk), 401)


@pytest.mark.parametrize("email", ["\x00", "desk\x00@practice.example", "%00"])
async def test_a_nul_in_the_username_is_a_wrong_credential_not_a_500(
    client: httpx.AsyncClient, desk_account: Any, email: str
) -> None:
    """Found by schemathesis: PostgreSQL refuses NUL in text; no address contains one."""
    assert_problem(await sign_in(client, email, STAFF_PASSWORD), 401)


async def test_a_nul_in_a_desk_search_is_a_422_not_a_500(
    client: httpx.AsyncClient, desk: dict[str, str]
) -> None:
    response = await client.get("/api/v1/appointments", params={"q": "ana\x00"}, headers=desk)
    assert_problem(response, 422)


# --- throttling per (account, client), per account, per client ---------------------------------


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://booking.test")


async def test_failures_from_one_client_do_not_stop_the_right_password_from_another(
    app: FastAPI, client: httpx.AsyncClient, desk_account: Any
) -> None:
    async with client_at(app, "203.0.113.9") as attacker:
        for _ in range(5):
            assert_problem(
                await sign_in(attacker, "desk@practice.example", "wrong password!!"), 401
            )
        assert_problem(await sign_in(attacker, "desk@practice.example", STAFF_PASSWORD), 429)

    response = await sign_in(client, "desk@practice.example", STAFF_PASSWORD)

    assert response.status_code == 200, response.text


@pytest.mark.settings(
    sign_in_failures_per_account="8/15minutes",
    sign_in_failures_per_account_and_client="5/15minutes",
)
async def test_guessing_one_account_from_many_clients_meets_the_account_ceiling(
    app: FastAPI, desk_account: Any
) -> None:
    for number in range(4):
        async with client_at(app, f"203.0.113.{number}") as attacker:
            for _ in range(2):
                await sign_in(attacker, "desk@practice.example", "wrong password!!")
    async with client_at(app, "198.51.100.1") as owner:
        response = await sign_in(owner, "desk@practice.example", STAFF_PASSWORD)
    problem = assert_problem(response, 429)
    assert problem["type"] == "/problems/too-many-sign-in-attempts"
