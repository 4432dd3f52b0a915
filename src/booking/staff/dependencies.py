"""``CurrentStaff`` and ``AdminStaff``: who is calling, from the bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep
from booking.staff import service as staff
from booking.staff.errors import Forbidden, InvalidToken, NotAuthenticated
from booking.staff.models import StaffAccount, StaffRole
from booking.staff.tokens import read_access_token

bearer_token = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="Sign in at POST /api/v1/auth/token with a staff email and password.",
)


async def current_staff(
    token: Annotated[str | None, Depends(bearer_token)],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> StaffAccount:
    """The signed-in staff member. Checked on every request, so deactivation acts at once.

    Read in the request's own session and transaction (no second session, no second
    connection): the account is then part of the same snapshot as the work.
    """
    if not token:
        raise NotAuthenticated("Send an Authorization: Bearer token from POST /api/v1/auth/token.")
    claims = read_access_token(token, secret_key=settings.secret_key, now=clock.now())
    account = await staff.account_for_credential(
        session, staff_id=claims.staff_id, token_generation=claims.generation
    )
    if account is None:
        raise InvalidToken("This token no longer works; sign in again.")
    return account


CurrentStaff = Annotated[StaffAccount, Depends(current_staff)]


async def admin_staff(staff: CurrentStaff) -> StaffAccount:
    if staff.role != StaffRole.admin:
        raise Forbidden("Only an admin can do this.")
    return staff


AdminStaff = Annotated[StaffAccount, Depends(admin_staff)]
