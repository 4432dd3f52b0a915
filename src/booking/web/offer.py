"""/offer/<token>: the earlier time a waitlisted patient is offered. A GET never changes
anything; accepting is a POST (a button, no JavaScript), so mail scanners that follow links
cannot accept. The unguessable token in the path is what a cross-site form cannot forge."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from booking.config import Settings
from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep
from booking.errors import Conflict
from booking.waitlist import service as waitlist
from booking.waitlist.errors import OfferNotFound
from booking.waitlist.models import Offer
from booking.waitlist.schemas import OfferView
from booking.web.manage import HEADERS, link_not_working
from booking.web.pages import local_time, render

router = APIRouter(include_in_schema=False)

GONE = {
    "accepted": "You have accepted this time. Your confirmation email is on its way.",
    "taken": "Another patient accepted this time first. You stay on the waitlist.",
    "withdrawn": "This time is no longer offered. You stay on the waitlist.",
    "expired": "This offer has ended. You stay on the waitlist.",
}


def _page(
    request: Request,
    settings: Settings,
    offer: Offer,
    token: str,
    view: OfferView,
    *,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    when = local_time(settings)
    return render(
        request,
        "offer.html",
        settings,
        status_code=status_code,
        headers=HEADERS,
        view=view,
        token=token,
        when=when(offer.start_at),
        ends=f"{offer.end_at.astimezone(settings.timezone):%H:%M}",
        expires=when(min(offer.expires_at, offer.start_at)),
        gone=None if view.can_accept else GONE.get(view.status),
        notice=notice,
    )


def _invalid(request: Request, settings: Settings, error: OfferNotFound) -> HTMLResponse:
    return link_not_working(request, settings, error, "This link does not work")


@router.get("/offer/{token}")
async def offer_page(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    try:
        offer = await waitlist.offer_for_token(session, token=token)
    except OfferNotFound as error:
        return _invalid(request, settings, error)
    applies = await waitlist.applies(session, offer)
    view = OfferView.of(offer, settings, now=clock.now(), applies=applies)
    return _page(request, settings, offer, token, view)


@router.post("/offer/{token}/accept")
async def accept_on_page(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    now = clock.now()
    try:
        await waitlist.accept_offer(session, token=token, settings=settings, now=now)
    except OfferNotFound as error:
        return _invalid(request, settings, error)
    except Conflict as error:
        # Taken, expired, withdrawn, or the time is no longer free: nothing changed.
        await session.rollback()
        offer = await waitlist.offer_for_token(session, token=token)
        view = OfferView.of(offer, settings, now=now).model_copy(update={"can_accept": False})
        return _page(request, settings, offer, token, view, notice=error.detail, status_code=409)
    offer = await waitlist.offer_for_token(session, token=token)
    view = OfferView.of(offer, settings, now=now)
    return _page(
        request,
        settings,
        offer,
        token,
        view,
        notice="This time is yours. We have emailed you the confirmation.",
    )
