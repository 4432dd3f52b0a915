"""What an admin's change through the JSON API works with (providers, staff accounts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from booking.clock import Clock
from booking.db import SessionDep
from booking.dependencies import ClockDep
from booking.idempotency.dependencies import Idempotency, IdempotencyDep, staff_scope
from booking.staff.dependencies import AdminStaff
from booking.staff.models import StaffAccount


@dataclass(frozen=True)
class AdminChange:
    """The admin, the transaction, the clock and the retry guard of one change."""

    admin: StaffAccount
    session: AsyncSession
    clock: Clock
    idempotency: Idempotency

    async def respond(
        self,
        produce: Callable[[], Awaitable[BaseModel]],
        *,
        payload: Any = None,
        status_code: int = 200,
    ) -> Response:
        """Run ``produce`` once per Idempotency-Key of this admin: a retry gets the first
        answer. ``payload`` is what the key's fingerprint holds (None: the path alone)."""
        return await self.idempotency.respond_json(
            self.session,
            scope=staff_scope(self.admin.id),
            payload=payload,
            produce=produce,
            status_code=status_code,
        )


async def admin_change(
    admin: AdminStaff, session: SessionDep, clock: ClockDep, idempotency: IdempotencyDep
) -> AdminChange:
    return AdminChange(admin, session, clock, idempotency)


AdminChangeDep = Annotated[AdminChange, Depends(admin_change)]
