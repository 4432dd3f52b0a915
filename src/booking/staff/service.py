"""Staff accounts: create, find, authenticate, deactivate, reset. Services never commit."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.errors import NotFound
from booking.staff import sessions as desk_sessions
from booking.staff.errors import (
    CannotDeactivateSelf,
    InvalidCredentials,
    LastActiveAdmin,
    StaffEmailTaken,
)
from booking.staff.models import StaffAccount, StaffRole
from booking.staff.passwords import check_password_strength, hash_password, verify_password
from booking.staff.throttle import SignInThrottle


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_staff(
    session: AsyncSession,
    *,
    email: str,
    display_name: str,
    role: StaffRole,
    password: str,
    now: dt.datetime,
) -> StaffAccount:
    check_password_strength(password)
    account = StaffAccount(
        email=normalize_email(email),
        display_name=display_name.strip() or normalize_email(email),
        role=role,
        password_hash=await hash_password(password),
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError:
        raise StaffEmailTaken() from None
    return account


async def find_by_email(session: AsyncSession, email: str) -> StaffAccount | None:
    if "\x00" in email:  # no address contains one, and PostgreSQL refuses it in text
        return None
    statement = select(StaffAccount).where(col(StaffAccount.email) == normalize_email(email))
    return (await session.execute(statement)).scalar_one_or_none()


async def get_staff(session: AsyncSession, staff_id: uuid.UUID) -> StaffAccount:
    account = await session.get(StaffAccount, staff_id)
    if account is None:
        raise NotFound("No staff account with this id.")
    return account


async def list_staff(session: AsyncSession) -> list[StaffAccount]:
    statement = select(StaffAccount).order_by(col(StaffAccount.email))
    return list((await session.execute(statement)).scalars())


async def authenticate(session: AsyncSession, *, email: str, password: str) -> StaffAccount | None:
    """The active account with this email and password, or None (in the same time either way)."""
    account = await find_by_email(session, email)
    usable = account is not None and account.is_active
    matches = await verify_password(password, account.password_hash if usable and account else None)
    return account if usable and matches else None


async def account_for_credential(
    session: AsyncSession, *, staff_id: uuid.UUID, token_generation: int | None = None
) -> StaffAccount | None:
    """The account a credential (a bearer token, a desk session) still stands for: it exists
    and is active and, for a token, the account has not revoked it since (``token_generation``).
    Desk sessions are deleted when access is revoked, so they carry no generation. Checked on
    every request: deactivation and sign-out everywhere act at once."""
    account = await session.get(StaffAccount, staff_id)
    if account is None or not account.is_active:
        return None
    if token_generation is not None and account.token_generation != token_generation:
        return None
    return account


async def sign_in(
    session: AsyncSession, *, throttle: SignInThrottle, email: str, password: str, client: str
) -> StaffAccount:
    """The one sign-in flow (API token and desk page): throttle, check, count the failure.

    Raises TooManySignInAttempts (429) or InvalidCredentials (401)."""
    await throttle.refuse_if_throttled(email=email, client=client)
    account = await authenticate(session, email=email, password=password)
    if account is None:
        await throttle.record_failure(email=email, client=client)
        raise InvalidCredentials("Check the email and password and try again.")
    await throttle.forget_failures(email=email, client=client)
    return account


async def _revoke_access(session: AsyncSession, account: StaffAccount, now: dt.datetime) -> int:
    """Older tokens stop working and desk sessions end, in the caller's transaction."""
    account.token_generation += 1
    account.updated_at = now
    ended = await desk_sessions.end_all_sessions(session, staff_id=account.id)
    await session.flush()
    return ended


async def deactivate_staff(
    session: AsyncSession,
    *,
    staff_id: uuid.UUID,
    now: dt.datetime,
    by: uuid.UUID | None = None,
) -> StaffAccount:
    """``by``: the admin asking (None from the command line, which has no "self")."""
    if by == staff_id:
        raise CannotDeactivateSelf("Ask another admin to deactivate your account.")
    # Lock the active admins' rows (in id order, so two of these never deadlock): two admins
    # deactivating each other at once are served one after the other, and the second sees
    # that only one admin is left. SQLite ignores FOR UPDATE; there BEGIN IMMEDIATE already
    # serializes writing transactions (db.py).
    active_admins = (
        await session.execute(
            select(StaffAccount)
            .where(col(StaffAccount.role) == StaffRole.admin, col(StaffAccount.is_active) == true())
            .order_by(col(StaffAccount.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalars()
    admin_ids = {admin.id for admin in active_admins}
    account = await get_staff(session, staff_id)
    if admin_ids == {account.id}:
        raise LastActiveAdmin(
            "This is the last active admin account; make another account an admin first."
        )
    account.is_active = False
    await _revoke_access(session, account, now)
    return account


async def end_sessions(session: AsyncSession, *, staff_id: uuid.UUID, now: dt.datetime) -> int:
    """Sign the account out everywhere: desk sessions end and bearer tokens stop working.
    Returns the number of desk sessions ended."""
    return await _revoke_access(session, await get_staff(session, staff_id), now)


async def reset_password(
    session: AsyncSession, *, account: StaffAccount, password: str, now: dt.datetime
) -> None:
    check_password_strength(password)
    account.password_hash = await hash_password(password)
    await _revoke_access(session, account, now)
