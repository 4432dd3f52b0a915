"""Staff accounts for tests: added straight to the database of an app in process, and signed
in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI

STAFF_PASSWORD = "correct horse battery staple"


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
