"""/offer/<token>: the earlier time a waitlisted patient is offered. A GET never changes
anything; accepting is a POST (a button, no JavaScript), so mail scanners that follow links
cannot accept. The unguessable token in the path is what a cross-site form cannot forge."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from booking.errors import Conflict
from booking.waitlist import service as waitlist
from booking.waitlist.errors import OfferNotFound
from booking.waitlist.models import Offer
from booking.waitlist.schemas import OfferView
from booking.web.links import LinkCall, LinkCallDep
from booking.web.pages import local_time

router = APIRouter(include_in_schema=False)

GONE = {
    "accepted": "You have accepted this time. Your confirmation email is on its way.",
    "taken": "Another patient accepted this time first. You stay on the waitlist.",
    "withdrawn": "This time is no longer offered. You stay on the waitlist.",
    "expired": "This offer has ended. You stay on the waitlist.",
}


def _page(
    call: LinkCall,
    offer: Offer,
    view: OfferView,
    *,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    when = local_time(call.settings)
    return call.page(
        "offer.html",
        status_code=status_code,
        view=view,
        when=when(offer.start_at),
        # The same 12-hour clock as the start (and the desk's "Visit" line).
        ends=f"{offer.end_at.astimezone(call.settings.timezone):%-I:%M %p}",
        expires=when(min(offer.expires_at, offer.start_at)),
        gone=None if view.can_accept else GONE.get(view.status),
        notice=notice,
    )


def _invalid(call: LinkCall, error: OfferNotFound) -> HTMLResponse:
    return call.not_working(error, "This link does not work")


@router.get("/offer/{token}")
async def offer_page(call: LinkCallDep) -> HTMLResponse:
    try:
        offer = await waitlist.offer_for_token(call.session, token=call.token)
    except OfferNotFound as error:
        return _invalid(call, error)
    applies = await waitlist.applies(call.session, offer)
    view = OfferView.of(offer, call.settings, now=call.clock.now(), applies=applies)
    return _page(call, offer, view)


@router.post("/offer/{token}/accept")
async def accept_on_page(call: LinkCallDep) -> HTMLResponse:
    session, settings, now = call.session, call.settings, call.clock.now()
    try:
        await waitlist.accept_offer(session, token=call.token, settings=settings, now=now)
    except OfferNotFound as error:
        return _invalid(call, error)
    except Conflict as error:
        # Taken, expired, withdrawn, or the time is no longer free: nothing changed.
        await session.rollback()
        offer = await waitlist.offer_for_token(session, token=call.token)
        view = OfferView.of(offer, settings, now=now).model_copy(update={"can_accept": False})
        return _page(call, offer, view, notice=error.detail, status_code=409)
    offer = await waitlist.offer_for_token(session, token=call.token)
    view = OfferView.of(offer, settings, now=now)
    return _page(
        call, offer, view, notice="This time is yours. We have emailed you the confirmation."
    )
