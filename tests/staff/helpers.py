"""Staff accounts for tests: added straight to the database of an app in process, or created
with ``booking staff create`` for real server processes, and signed in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.servers import run_booking

STAFF_PASSWORD = "correct horse battery staple"


# --- in process -------------------------------------------------------------------------------


async def add_staff(
    app: FastAPI, password_hash: str, *, email: str, role: str = "front_desk"
) -> Any:
    from booking.staff.models import StaffAccount

    now = app.state.clock.now()
    account = StaffAccount(
        email=email,
        display_name=email.split("@")[0],
        role=role,
        password_hash=password_hash,
        created_at=now,
        updated_at=now,
    )
    async with app.state.sessionmaker() as session, session.begin():
        session.add(account)
    return account


def bearer(app: FastAPI, account: Any) -> dict[str, str]:
    from booking.staff.tokens import issue_access_token

    token = issue_access_token(
        staff_id=account.id,
        generation=account.token_generation,
        secret_key=app.state.settings.secret_key,
        now=app.state.clock.now(),
        # Long enough for tests that move the clock by weeks; expiry is tested with real sign-ins.
        lifetime=dt.timedelta(days=60),
    )
    return {"Authorization": f"Bearer {token}"}


# --- real processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffLogin:
    """What a clerk types on the sign-in form."""

    email: str
    password: str

    def access_token(self, base_url: str) -> str:
        """Sign in at a running server; the sign-in must succeed."""
        response = httpx.post(
            base_url + "/api/v1/auth/token",
            data={"username": self.email, "password": self.password},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def create_staff_with_cli(
    env: dict[str, str], workdir: Path, email: str, *options: str, password: str = STAFF_PASSWORD
) -> StaffLogin:
    """``booking staff create EMAIL [OPTIONS] --password-stdin`` as an operator runs it, in
    ``workdir`` with ``env`` (see tests.servers.booking_env); it must succeed."""
    command = ["staff", "create", email, *options, "--password-stdin"]
    created = run_booking(*command, env=env, cwd=workdir, stdin=password + "\n")
    assert created.returncode == 0, created.stderr
    return StaffLogin(email, password)
