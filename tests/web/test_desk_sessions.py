"""The desk's sign-in session, over plain HTTP: it ends at sign-out, deactivation, a password
reset, an admin's "end sessions", 30 idle minutes, or its absolute lifetime."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from booking.clock import FrozenClock
from tests.helpers import create_request
from tests.staff.helpers import STAFF_PASSWORD

DESK_EMAIL = "desk@practice.example"


def desk_client(
    app: FastAPI, address: str = "127.0.0.1", cookies: dict[str, str] | None = None
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://booking.test", cookies=cookies)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with desk_client(app) as client:
        yield client


def csrf_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def desk_sign_in(
    client: httpx.AsyncClient, email: str = DESK_EMAIL, password: str = STAFF_PASSWORD
) -> httpx.Response:
    form = await client.get("/desk/login")
    return await client.post(
        "/desk/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(form)},
    )


async def opens_the_board(app: FastAPI, cookie: str) -> bool:
    async with desk_client(app, cookies={"booking_desk": cookie}) as other:
        response = await other.get("/desk")
    if response.status_code == 303:
        assert response.headers["location"] == "/desk/login"
        return False
    assert response.status_code == 200, response.text
    return True


async def signed_in_cookie(browser: httpx.AsyncClient) -> str:
    response = await desk_sign_in(browser)
    assert response.status_code == 303, response.text
    return str(browser.cookies["booking_desk"])


async def stored_sessions(app: FastAPI) -> list[Any]:
    from booking.staff.models import DeskSession

    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(DeskSession))).scalars())


async def test_sign_out_ends_the_session_for_a_copied_cookie_too(
    app: FastAPI, browser: httpx.AsyncClient, desk_account: Any
) -> None:
    cookie = await signed_in_cookie(browser)
    board = await browser.get("/desk")
    assert await opens_the_board(app, cookie)

    signed_out = await browser.post("/desk/logout", data={"csrf_token": csrf_token(board)})

    assert signed_out.status_code == 303
    assert not await opens_the_board(app, cookie)
    assert await stored_sessions(app) == []


async def test_the_cookie_holds_a_random_token_and_the_server_only_its_hash(
    app: FastAPI, browser: httpx.AsyncClient, desk_account: Any
) -> None:
    cookie = await signed_in_cookie(browser)
    [stored] = await stored_sessions(app)
    assert stored.staff_id == desk_account.id
    assert cookie not in stored.id
    assert str(desk_account.id) not in cookie
    set_cookie = (await desk_sign_in(browser)).headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "path=/desk" in set_cookie


async def test_a_session_ends_after_30_idle_minutes(
    app: FastAPI, browser: httpx.AsyncClient, desk_account: Any, clock: FrozenClock
) -> None:
    cookie = await signed_in_cookie(browser)
    clock.advance(dt.timedelta(minutes=29))
    assert await opens_the_board(app, cookie)  # use restarts the idle timer
    clock.advance(dt.timedelta(minutes=29))
    assert await opens_the_board(app, cookie)
    clock.advance(dt.timedelta(minutes=30))
    assert not await opens_the_board(app, cookie)


async def test_a_session_in_constant_use_still_ends_at_its_absolute_deadline(
    app: FastAPI, browser: httpx.AsyncClient, desk_account: Any, clock: FrozenClock
) -> None:
    cookie = await signed_in_cookie(browser)
    for _ in range(12 * 3 - 1):
        clock.advance(dt.timedelta(minutes=20))
        assert await opens_the_board(app, cookie)
    clock.advance(dt.timedelta(minutes=20))  # 12 hours after sign-in
    assert not await opens_the_board(app, cookie)


async def test_last_seen_is_written_at_most_once_a_minute(
    app: FastAPI, browser: httpx.AsyncClient, desk_account: Any, clock: FrozenClock
) -> None:
    cookie = await signed_in_cookie(browser)
    signed_in_at = clock.now()
    clock.advance(dt.timedelta(seconds=50))
    assert await opens_the_board(app, cookie)
    assert [s.last_seen_at for s in await stored_sessions(app)] == [signed_in_at]
    clock.advance(dt.timedelta(seconds=20))
    assert await opens_the_board(app, cookie)
    assert [s.last_seen_at for s in await stored_sessions(app)] == [clock.now()]


async def test_signing_in_sweeps_ended_sessions(
    app: FastAPI, browser: httpx.AsyncClient, desk_account: Any, clock: FrozenClock
) -> None:
    await signed_in_cookie(browser)
    clock.advance(dt.timedelta(hours=1))
    await signed_in_cookie(browser)
    assert len(await stored_sessions(app)) == 1


async def test_deactivation_ends_the_accounts_desk_sessions(
    app: FastAPI,
    browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    desk_account: Any,
    admin: dict[str, str],
) -> None:
    cookie = await signed_in_cookie(browser)
    response = await client.post(f"/api/v1/staff/{desk_account.id}/deactivate", headers=admin)
    assert response.status_code == 200, response.text
    assert await stored_sessions(app) == []
    assert not await opens_the_board(app, cookie)


async def test_a_password_reset_ends_the_accounts_desk_sessions(
    app: FastAPI, browser: httpx.AsyncClient, desk_account: Any, clock: FrozenClock
) -> None:
    from booking.staff import service

    cookie = await signed_in_cookie(browser)
    async with app.state.sessionmaker() as session, session.begin():
        account = await service.get_staff(session, desk_account.id)
        await service.reset_password(
            session, account=account, password="a brand new password", now=clock.now()
        )
    assert await stored_sessions(app) == []
    assert not await opens_the_board(app, cookie)


async def test_an_admin_ends_every_session_of_an_account(
    app: FastAPI,
    browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    desk_account: Any,
    desk: dict[str, str],
    admin: dict[str, str],
) -> None:
    first = await signed_in_cookie(browser)
    async with desk_client(app, "10.0.0.2") as laptop:
        second = await signed_in_cookie(laptop)

    response = await client.post(f"/api/v1/staff/{desk_account.id}/end-sessions", headers=admin)

    assert response.status_code == 200, response.text
    assert response.json() == {"ended": 2}
    assert not await opens_the_board(app, first)
    assert not await opens_the_board(app, second)
    assert (await client.get("/api/v1/staff/me", headers=desk)).status_code == 401
    assert (await desk_sign_in(browser)).status_code == 303  # the account itself stays active


async def test_only_an_admin_ends_sessions(
    client: httpx.AsyncClient, desk_account: Any, desk: dict[str, str], admin_account: Any
) -> None:
    response = await client.post(f"/api/v1/staff/{admin_account.id}/end-sessions", headers=desk)
    assert response.status_code == 403


async def test_a_wrong_password_elsewhere_does_not_lock_the_clerk_out_of_the_desk(
    app: FastAPI, browser: httpx.AsyncClient, desk_account: Any
) -> None:
    async with desk_client(app, "203.0.113.9") as attacker:
        for _ in range(5):
            refused = await desk_sign_in(attacker, password="wrong password!!")
            assert refused.status_code == 401
        assert (await desk_sign_in(attacker)).status_code == 429
    assert (await desk_sign_in(browser)).status_code == 303


async def test_a_provider_id_that_is_not_a_uuid_is_a_form_error_not_a_500(
    app: FastAPI, browser: httpx.AsyncClient, client: httpx.AsyncClient, desk_account: Any
) -> None:
    appointment_id = await create_request(client)
    await signed_in_cookie(browser)
    page = await browser.get(f"/desk/appointments/{appointment_id}")
    response = await browser.post(
        f"/desk/appointments/{appointment_id}/confirm",
        data={
            "csrf_token": csrf_token(page),
            "date": "2026-12-07",
            "time": "10:00",
            "provider_id": "not-a-uuid",
        },
    )
    assert response.status_code == 422
    assert "Provider id: must be a valid UUID." in response.text  # the API's own message
