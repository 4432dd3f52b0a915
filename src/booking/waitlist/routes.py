"""An offer's link, as JSON: see the time offered, accept it. A GET never changes anything."""

from __future__ import annotations

from typing import Annotated

from starlette.responses import Response

from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep, emailed_link_router, emailed_token
from booking.manage.dependencies import LinkChangeDep
from booking.manage.schemas import ManageView
from booking.problem_docs import problem_responses
from booking.waitlist import service as waitlist
from booking.waitlist.schemas import OfferView

router = emailed_link_router("/api/v1/offers")

Token = Annotated[str, emailed_token("offer email")]


@router.get(
    "/{token}",
    summary="See the earlier time an offer holds",
    responses=problem_responses(404),
)
async def get_offer(
    token: Token, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> OfferView:
    """The time offered to a waitlisted patient and whether it can still be accepted. Reading
    changes nothing; an unknown link is a 404 `offer-invalid`."""
    offer = await waitlist.offer_for_token(session, token=token)
    applies = await waitlist.applies(session, offer)
    return OfferView.of(offer, settings, now=clock.now(), applies=applies)


@router.post(
    "/{token}/accept",
    summary="Accept the earlier time an offer holds",
    responses=problem_responses(404, 409),
)
async def accept_offer(token: Token, change: LinkChangeDep) -> Response:
    """The first patient to accept gets the time: their request is confirmed, or their visit
    moved to it, with every booking rule (409 `slot-taken`, `outside-working-hours`). Later
    accepts get 409 `offer-taken`; an offer past its time 409 `offer-expired`; one that no
    longer applies (the request ended, the visit moved) 409 `offer-withdrawn`. With an
    `Idempotency-Key`, a retry gets the first answer (the booked time) rather than a 409."""

    async def produce() -> ManageView:
        appointment = await waitlist.accept_offer(
            change.session, token=token, settings=change.settings, now=change.clock.now()
        )
        return ManageView.of(appointment, change.settings, can_cancel=True)

    return await change.respond(produce, scope="offer")
