"""Staff administration: who may be deactivated, and names the database can store."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from tests.helpers import assert_problem
from tests.staff.helpers import add_staff


async def test_an_admin_cannot_deactivate_their_own_account(
    client: httpx.AsyncClient, admin_account: Any, admin: dict[str, str]
) -> None:
    response = await client.post(f"/api/v1/staff/{admin_account.id}/deactivate", headers=admin)
    problem = assert_problem(response, 409)
    assert problem["type"] == "/problems/cannot-deactivate-self"
    assert (await client.get("/api/v1/staff/me", headers=admin)).status_code == 200


async def test_an_admin_deactivates_another_admin_but_not_the_last_one(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_account: Any,
    admin: dict[str, str],
    staff_password_hash: str,
    clock: FrozenClock,
) -> None:
    from booking.staff import service
    from booking.staff.errors import LastActiveAdmin

    other = await add_staff(app, staff_password_hash, email="other@practice.example", role="admin")
    response = await client.post(f"/api/v1/staff/{other.id}/deactivate", headers=admin)
    assert response.status_code == 200, response.text

    # The command line has no "self": there, only the last-admin rule applies.
    async with app.state.sessionmaker() as session, session.begin():
        with pytest.raises(LastActiveAdmin):
            await service.deactivate_staff(session, staff_id=admin_account.id, now=clock.now())


async def test_two_admins_deactivating_each_other_at_once_leave_one_admin(
    app: FastAPI, admin_account: Any, staff_password_hash: str, clock: FrozenClock
) -> None:
    from booking.staff import service
    from booking.staff.errors import LastActiveAdmin

    other = await add_staff(app, staff_password_hash, email="other@practice.example", role="admin")

    async def second() -> None:
        async with app.state.sessionmaker() as session, session.begin():
            await service.deactivate_staff(
                session, staff_id=admin_account.id, now=clock.now(), by=other.id
            )

    async with app.state.sessionmaker() as session, session.begin():
        await service.deactivate_staff(session, staff_id=other.id, now=clock.now(), by=None)
        # The second deactivation starts while the first is uncommitted: it must wait for it.
        racing = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not racing.done()
    with pytest.raises(LastActiveAdmin):
        await racing

    async with app.state.sessionmaker() as session:
        assert (await service.get_staff(session, admin_account.id)).is_active


@pytest.mark.parametrize("name", ["Ada\x00", "Ada\x1b[31m", "Ada\u202e"])
async def test_a_control_character_in_a_staff_name_is_a_422_naming_it(
    client: httpx.AsyncClient, admin: dict[str, str], name: str
) -> None:
    response = await client.post(
        "/api/v1/staff",
        headers=admin,
        json={"email": "new@practice.example", "display_name": name, "password": "x" * 12},
    )
    problem = assert_problem(response, 422)
    assert [error["field"] for error in problem["errors"]] == ["display_name"]


async def test_a_nul_in_a_provider_name_is_a_422_naming_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post("/api/v1/providers", headers=admin, json={"name": "Dr.\x00 Who"})
    problem = assert_problem(response, 422)
    assert [error["field"] for error in problem["errors"]] == ["name"]
