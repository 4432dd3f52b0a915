from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.errors import FieldError, NotFound, RequestInvalid
from booking.providers.models import Provider


async def list_providers(session: AsyncSession) -> list[Provider]:
    statement = select(Provider).order_by(col(Provider.created_at), col(Provider.id))
    return list((await session.execute(statement)).scalars())


async def add_provider(session: AsyncSession, *, name: str, now: dt.datetime) -> Provider:
    provider = Provider(name=name, created_at=now)
    session.add(provider)
    await session.flush()
    return provider


async def get_provider(session: AsyncSession, provider_id: uuid.UUID) -> Provider:
    provider = await session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("No provider with this id.")
    return provider


async def choose_provider(session: AsyncSession, provider_id: uuid.UUID | None) -> Provider:
    """The provider asked for, or the only active one when none is named."""
    if provider_id is not None:
        provider = await session.get(Provider, provider_id)
        if provider is None or not provider.is_active:
            raise RequestInvalid([FieldError("provider_id", "is not an active provider")])
        return provider
    active = [provider for provider in await list_providers(session) if provider.is_active]
    if len(active) != 1:
        raise RequestInvalid(
            [FieldError("provider_id", "is required when the practice has several providers")]
        )
    return active[0]
