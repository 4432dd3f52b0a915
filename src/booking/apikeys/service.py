"""Creating, listing, revoking and checking API keys. Services never commit."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.apikeys.errors import ApiKeyNotFound
from booking.apikeys.models import ApiKey, ApiScope
from booking.security import token_hash

# Every key starts with this: a bearer credential that is a key, not a staff token, is known
# by its first characters, and a key pasted somewhere it should not be is easy to search for.
KEY_PREFIX = "bk_"
# last_used_at is written at most this often: a read is not a write on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)


def is_api_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    scopes: Iterable[ApiScope],
    created_by: uuid.UUID | None,
    now: dt.datetime,
) -> tuple[ApiKey, str]:
    """A new key and its secret (the only time the secret exists outside the caller)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        name=name,
        scopes=sorted({ApiScope(scope).value for scope in scopes}),
        secret_hash=token_hash(key),
        created_by=created_by,
        created_at=now,
    )
    session.add(record)
    await session.flush()
    return record, key


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    statement = select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))
    return list((await session.execute(statement)).scalars())


async def revoke_key(session: AsyncSession, *, key_id: uuid.UUID, now: dt.datetime) -> ApiKey:
    """From the next request on, the key opens nothing (keys are checked on every request)."""
    record = await session.get(ApiKey, key_id)
    if record is None:
        raise ApiKeyNotFound("No API key with this id.")
    if record.revoked_at is None:
        record.revoked_at = now
        await session.flush()
    return record


async def key_for_secret(session: AsyncSession, key: str, *, now: dt.datetime) -> ApiKey | None:
    """The live key this secret is, or None; its last use noted (at most once a minute)."""
    statement = select(ApiKey).where(col(ApiKey.secret_hash) == token_hash(key))
    record = (await session.execute(statement)).scalar_one_or_none()
    if record is None or record.revoked_at is not None:
        return None
    if record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY:
        record.last_used_at = now
        await session.flush()
    return record
