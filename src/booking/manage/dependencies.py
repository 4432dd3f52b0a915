"""What a change through an emailed link's JSON API works with (the patient's link, an
offer's), as ``staff.admin.AdminChange`` is for an admin's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from booking.clock import Clock
from booking.config import Settings
from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep
from booking.idempotency.dependencies import Idempotency, IdempotencyDep


@dataclass(frozen=True)
class LinkChange:
    """The transaction, the settings, the clock and the retry guard of one change."""

    session: AsyncSession
    settings: Settings
    clock: Clock
    idempotency: Idempotency

    async def respond(
        self, produce: Callable[[], Awaitable[BaseModel]], *, scope: str, payload: Any = None
    ) -> Response:
        """Run ``produce`` once per Idempotency-Key of this kind of link (``scope``): a retry
        gets the first answer. The key's fingerprint holds the path, so the link's token, and
        ``payload`` (None: the path alone)."""
        return await self.idempotency.respond_json(
            self.session, scope=scope, payload=payload, produce=produce
        )


async def link_change(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, idempotency: IdempotencyDep
) -> LinkChange:
    return LinkChange(session, settings, clock, idempotency)


LinkChangeDep = Annotated[LinkChange, Depends(link_change)]
