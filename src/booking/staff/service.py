"""Staff accounts: create, find, authenticate, deactivate, reset. Services never commit."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.errors import NotFound
from booking.staff.errors import StaffEmailTaken
from booking.staff.models import StaffAccount, StaffRole
from booking.staff.passwords import check_password_strength, hash_password, verify_password


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


async def deactivate_staff(
    session: AsyncSession, *, staff_id: uuid.UUID, now: dt.datetime
) -> StaffAccount:
    account = await get_staff(session, staff_id)
    account.is_active = False
    account.token_generation += 1
    account.updated_at = now
    await session.flush()
    return account


async def reset_password(
    session: AsyncSession, *, account: StaffAccount, password: str, now: dt.datetime
) -> None:
    check_password_strength(password)
    account.password_hash = await hash_password(password)
    account.token_generation += 1
    account.updated_at = now
    await session.flush()
