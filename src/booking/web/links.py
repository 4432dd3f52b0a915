"""The pages an emailed link opens (the patient's /manage/<token>, an offer's /offer/<token>):
what their handlers work with, and how they answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse

from booking.clock import Clock
from booking.config import Settings
from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep
from booking.errors import DomainError
from booking.web.pages import NO_FRAMING, render

# The token is a secret: never sent on to other sites through the Referer header.
HEADERS = {**NO_FRAMING, "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class LinkCall:
    """A request to a page an emailed link opens, and what its handler works with."""

    token: str
    request: Request
    session: AsyncSession
    settings: Settings
    clock: Clock

    def page(self, name: str, **context: Any) -> HTMLResponse:
        """The link's page, its forms posting back to the same token (``context`` may hold a
        ``status_code`` besides the template's values)."""
        return render(
            self.request, name, self.settings, headers=HEADERS, token=self.token, **context
        )

    def not_working(self, error: DomainError, heading: str) -> HTMLResponse:
        """The 404 page of a link that opens nothing."""
        return self.page(
            "message.html",
            status_code=404,
            heading=heading,
            text=error.detail,
            phone=self.settings.practice_phone,
        )


async def link_call(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> LinkCall:
    return LinkCall(token, request, session, settings, clock)


LinkCallDep = Annotated[LinkCall, Depends(link_call)]
