"""The waitlist: when a confirmed visit is cancelled, its time is offered by email to a few
waitlisted patients it fits (``earlier_if_possible``); the first to accept gets it, the others
are told it is gone; unanswered offers expire and the next few patients are offered the time.

An offer's link token is derived from its id with the secret key (so that the email can be
written by the relay, like the manage link) and only its SHA-256 is stored. Accepting goes
through ``appointments.perform`` (confirm a request, move a visit): every booking rule applies.
Competing accepts of one time queue on the cancelled visit's row (FOR UPDATE; SQLite's writers
queue anyway): the first wins, the others read that the offer is taken.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.appointments import service as appointments
from booking.appointments.errors import OutsideWorkingHours, SlotTaken
from booking.appointments.lifecycle import Action
from booking.appointments.models import Appointment, AppointmentStatus
from booking.appointments.reasons import REASONS, ReasonCode
from booking.appointments.schemas import ConfirmRequest, RescheduleRequest
from booking.availability import service as availability
from booking.config import Settings
from booking.jobs.registry import job
from booking.security import token_hash
from booking.waitlist.errors import OfferExpired, OfferNotFound, OfferTaken, OfferWithdrawn
from booking.waitlist.links import offer_token
from booking.waitlist.models import Offer, OfferStatus

logger = logging.getLogger("booking.waitlist")

# How many waitlisted patients one round offers a freed time to.
OFFERS_PER_ROUND = 3
PATIENT, SYSTEM = appointments.PATIENT, appointments.SYSTEM


@dataclass(frozen=True, slots=True)
class FreedTime:
    slot_appointment_id: uuid.UUID
    provider_id: uuid.UUID
    start_at: dt.datetime
    end_at: dt.datetime

    @property
    def minutes(self) -> int:
        return int((self.end_at - self.start_at).total_seconds() // 60)


def _minutes(appointment: Appointment) -> int:
    if appointment.start_at is not None and appointment.end_at is not None:
        return int((appointment.end_at - appointment.start_at).total_seconds() // 60)
    return REASONS[ReasonCode(appointment.reason_code)].default_duration_minutes


def fits(appointment: Appointment, freed: FreedTime, settings: Settings) -> bool:
    """Whether the freed time suits this waitlisted patient: a request, when it is in one of
    their preferred windows and long enough for their reason; a visit, when it is earlier than
    theirs, with the same provider, and long enough."""
    if _minutes(appointment) > freed.minutes:
        return False
    if appointment.status == AppointmentStatus.confirmed:
        assert appointment.start_at is not None
        return (
            appointment.provider_id == freed.provider_id and freed.start_at < appointment.start_at
        )
    local = freed.start_at.astimezone(settings.timezone)
    return any(
        day == local.date() and availability.in_part_of_day(local.time(), part)
        for day, part in availability.preferred_windows(appointment.preferred_windows)
    )


async def _candidates(
    session: AsyncSession, freed: FreedTime, settings: Settings
) -> list[Appointment]:
    """The next few waitlisted patients the time fits, urgent first, then the oldest request;
    never one already offered this time."""
    offered = select(col(Offer.appointment_id)).where(
        col(Offer.slot_appointment_id) == freed.slot_appointment_id
    )
    statement = (
        select(Appointment)
        .where(
            col(Appointment.earlier_if_possible).is_(True),
            col(Appointment.status).in_([AppointmentStatus.requested, AppointmentStatus.confirmed]),
            col(Appointment.id) != freed.slot_appointment_id,
            col(Appointment.id).not_in(offered),
        )
        .order_by(
            col(Appointment.is_urgent).desc(), col(Appointment.created_at), col(Appointment.id)
        )
    )
    chosen: list[Appointment] = []
    for appointment in (await session.execute(statement)).scalars():
        if fits(appointment, freed, settings):
            chosen.append(appointment)
            if len(chosen) == OFFERS_PER_ROUND:
                break
    return chosen


async def offer_freed_time(
    session: AsyncSession, ctx: appointments.ActionContext, freed: FreedTime, round_: int
) -> int:
    """One round of offers of a freed time, each recorded in its patient's history and emailed.
    Returns how many were sent: none once the time has come, or once the desk has booked it
    (a later round runs hours after the cancel)."""
    if freed.start_at <= ctx.now:
        return 0
    if await appointments.confirmed_visits(
        session, [freed.provider_id], freed.start_at, freed.end_at
    ):
        return 0
    expires_at = min(ctx.now + dt.timedelta(hours=ctx.settings.offer_hours), freed.start_at)
    sent = 0
    for candidate in await _candidates(session, freed, ctx.settings):
        offer = Offer(
            token_hash="",
            appointment_id=candidate.id,
            slot_appointment_id=freed.slot_appointment_id,
            provider_id=freed.provider_id,
            start_at=freed.start_at,
            end_at=freed.end_at,
            round=round_,
            created_at=ctx.now,
            expires_at=expires_at,
        )
        offer.token_hash = token_hash(offer_token(offer.id, ctx.settings))
        session.add(offer)
        await appointments.record(
            session,
            ctx,
            candidate.id,
            "offer_sent",
            appointments.Change(
                details=_offer_details(offer),
                email_fields={
                    "offer_id": str(offer.id),
                    "offer_start": freed.start_at.isoformat(),
                    "offer_end": freed.end_at.isoformat(),
                    "offer_expires": expires_at.isoformat(),
                },
            ),
        )
        sent += 1
    if sent:
        logger.info(
            "slot of %s offered to %d patients (round %d)", freed.slot_appointment_id, sent, round_
        )
    return sent


def _offer_details(offer: Offer) -> dict[str, object]:
    return {
        "offer_id": str(offer.id),
        "start": offer.start_at.isoformat(),
        "end": offer.end_at.isoformat(),
        "provider_id": str(offer.provider_id),
        "expires_at": offer.expires_at.isoformat(),
    }


@appointments.follow_up(Action.cancel)
async def _offer_cancelled_visit(
    session: AsyncSession,
    ctx: appointments.ActionContext,
    appointment: Appointment,
    from_status: AppointmentStatus,
) -> None:
    """A confirmed visit was cancelled (by the desk or the patient): its time is offered now,
    in the cancel's transaction. (Offers this patient holds are not touched here: their rows
    may be held by an accept that waits for this appointment; ``applies`` reads them as
    withdrawn.)"""
    if from_status != AppointmentStatus.confirmed:
        return
    assert appointment.provider_id is not None
    assert appointment.start_at is not None
    assert appointment.end_at is not None
    freed = FreedTime(
        appointment.id, appointment.provider_id, appointment.start_at, appointment.end_at
    )
    system = appointments.ActionContext(actor=SYSTEM, settings=ctx.settings, now=ctx.now)
    await offer_freed_time(session, system, freed, round_=1)


# --- the patient's link ----------------------------------------------------------------------


async def offer_for_token(session: AsyncSession, *, token: str) -> Offer:
    if len(token) > 100:
        raise OfferNotFound("This link does not work. Call the practice for help.")
    offer = (
        await session.execute(select(Offer).where(col(Offer.token_hash) == token_hash(token)))
    ).scalar_one_or_none()
    if offer is None:
        raise OfferNotFound("This link does not work. Call the practice for help.")
    return offer


def still_open(offer: Offer, now: dt.datetime) -> bool:
    return offer.status == OfferStatus.open and now < offer.expires_at and now < offer.start_at


def check_open(offer: Offer, now: dt.datetime) -> None:
    """The offer's state as the patient's problem: taken, withdrawn or expired (409)."""
    if offer.status == OfferStatus.taken:
        raise OfferTaken("Another patient accepted this time first. You stay on the waitlist.")
    if offer.status == OfferStatus.withdrawn:
        raise OfferWithdrawn("This time is no longer offered. You stay on the waitlist.")
    if offer.status == OfferStatus.accepted:
        raise OfferTaken("You already accepted this time: see your confirmation email.")
    if not still_open(offer, now):
        raise OfferExpired("This offer has expired. You stay on the waitlist.")


def _move_fits(offer: Offer, patient: Appointment) -> bool:
    return (
        patient.status == AppointmentStatus.confirmed
        and patient.start_at is not None
        and offer.start_at < patient.start_at
        and patient.provider_id == offer.provider_id
    )


async def applies(session: AsyncSession, offer: Offer) -> bool:
    """Whether the offer still suits its patient's appointment: a request still waiting, or a
    visit still later than the time offered (else the link shows it as withdrawn)."""
    patient = await session.get(Appointment, offer.appointment_id)
    if patient is None:
        return False
    return patient.status == AppointmentStatus.requested or _move_fits(offer, patient)


async def accept_offer(
    session: AsyncSession, *, token: str, settings: Settings, now: dt.datetime
) -> Appointment:
    """The patient takes the offered time: their request confirmed, or their visit moved, in
    one transaction with every booking rule; the other offers of the time are withdrawn and
    those patients told. The first accept wins; the later ones get OfferTaken."""
    offer = await offer_for_token(session, token=token)
    # Every accept of this time queues here, then reads the offer as the winner left it.
    await session.execute(
        select(col(Appointment.id))
        .where(col(Appointment.id) == offer.slot_appointment_id)
        .with_for_update()
    )
    offer = (
        await session.execute(
            select(Offer).where(col(Offer.id) == offer.id).execution_options(populate_existing=True)
        )
    ).scalar_one()
    check_open(offer, now)
    ctx = appointments.ActionContext(
        actor=PATIENT, settings=settings, now=now, details={"offer_id": str(offer.id)}
    )
    patient = await session.get(Appointment, offer.appointment_id)
    assert patient is not None
    minutes = int((offer.end_at - offer.start_at).total_seconds() // 60)
    if patient.status == AppointmentStatus.requested:
        command: ConfirmRequest | RescheduleRequest = ConfirmRequest(
            start=offer.start_at, duration_minutes=_minutes(patient), provider_id=offer.provider_id
        )
        action = Action.confirm
    elif _move_fits(offer, patient):
        command = RescheduleRequest(
            start=offer.start_at, duration_minutes=min(_minutes(patient), minutes)
        )
        action = Action.reschedule
    else:
        raise OfferWithdrawn("This offer no longer applies to your appointment.")
    try:
        appointment = await appointments.perform(session, ctx, action, patient.id, command)
    except (SlotTaken, OutsideWorkingHours):
        # The desk gave the time to someone else meanwhile, or closed it: nobody can take it.
        raise OfferTaken("This time is no longer free. You stay on the waitlist.") from None
    offer.status = OfferStatus.accepted
    offer.decided_at = now
    await _tell_the_others(session, ctx, offer)
    return appointment


async def _tell_the_others(
    session: AsyncSession, ctx: appointments.ActionContext, won: Offer
) -> None:
    others: Sequence[Offer] = (
        (
            await session.execute(
                select(Offer)
                .where(
                    col(Offer.slot_appointment_id) == won.slot_appointment_id,
                    col(Offer.status) == OfferStatus.open,
                    col(Offer.id) != won.id,
                )
                .order_by(col(Offer.id))
            )
        )
        .scalars()
        .all()
    )
    system = appointments.ActionContext(actor=SYSTEM, settings=ctx.settings, now=ctx.now)
    for other in others:
        await _close_offer(session, system, other, OfferStatus.taken, event="offer_gone")


async def _close_offer(
    session: AsyncSession,
    ctx: appointments.ActionContext,
    offer: Offer,
    outcome: OfferStatus,
    *,
    event: str,
) -> None:
    """An open offer that nobody will accept any more: decided now, and told in the waiting
    patient's history (``event``, with the offer and how it ended). An offer whose patient's
    request ended meanwhile, or whose visit moved, is only withdrawn: that patient left the
    waitlist, and a "the time is gone" email would tell them about an appointment they no
    longer have."""
    offer.decided_at = ctx.now
    if not await applies(session, offer):
        offer.status = OfferStatus.withdrawn
        return
    offer.status = outcome
    await appointments.record(
        session,
        ctx,
        offer.appointment_id,
        event,
        appointments.Change(details={"offer_id": str(offer.id), "outcome": outcome.value}),
    )


# --- the timed part: called by the scheduler -------------------------------------------------


@job("offers.advance")
async def advance_offers(session: AsyncSession, now: dt.datetime, settings: Settings) -> int:
    """Expire the open offers that are due (BOOKING_OFFER_HOURS passed, or the time has come),
    then offer each such time to the next few waitlisted patients once none of its offers is
    open any more. Returns how many offers expired or were sent.

    Idempotent and safe with several workers: each freed time is claimed through its cancelled
    visit's row, FOR UPDATE SKIP LOCKED on PostgreSQL (a time another worker, or an accept,
    holds is left for the next run; the lock order is the accept's: the time, then its
    offers, then the patients). SQLite has one writer at a time. The caller commits.
    """
    due_times = (
        (
            await session.execute(
                select(col(Offer.slot_appointment_id))
                .where(col(Offer.status) == OfferStatus.open, col(Offer.expires_at) <= now)
                .group_by(col(Offer.slot_appointment_id))
                .order_by(func.min(col(Offer.expires_at)), col(Offer.slot_appointment_id))
                .limit(100)
            )
        )
        .scalars()
        .all()
    )
    system = appointments.ActionContext(actor=SYSTEM, settings=settings, now=now)
    changed = 0
    for slot_id in due_times:
        claimed = await session.execute(
            select(col(Appointment.id))
            .where(col(Appointment.id) == slot_id)
            .with_for_update(skip_locked=True)
        )
        if claimed.first() is None:
            continue
        changed += await _advance_time(session, system, slot_id)
    await session.flush()
    return changed


async def _advance_time(
    session: AsyncSession, ctx: appointments.ActionContext, slot_id: uuid.UUID
) -> int:
    offers = (
        (
            await session.execute(
                select(Offer)
                .where(col(Offer.slot_appointment_id) == slot_id)
                .order_by(col(Offer.id))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    expired = 0
    for offer in offers:
        if offer.status != OfferStatus.open or offer.expires_at > ctx.now:
            continue
        await _close_offer(session, ctx, offer, OfferStatus.expired, event="offer_expired")
        expired += 1
    if not expired or any(o.status in (OfferStatus.open, OfferStatus.accepted) for o in offers):
        return expired
    first = offers[0]
    freed = FreedTime(slot_id, first.provider_id, first.start_at, first.end_at)
    next_round = max(o.round for o in offers) + 1
    return expired + await offer_freed_time(session, ctx, freed, round_=next_round)
