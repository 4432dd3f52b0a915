"""advance_offers, the waitlist's timed part, driven with the frozen clock: unanswered offers
expire and the next few patients are offered the time; twice is once; two workers at once."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.waitlist.models import OfferStatus
from booking.waitlist.service import advance_offers
from tests.factories import OPEN_DAY
from tests.helpers import assert_problem, chicago, confirm, create_request
from tests.waitlist.helpers import cancelled_visit, offers, token_for, waitlisted


async def advance(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session, session.begin():
        return await advance_offers(session, now=app.state.clock.now(), settings=app.state.settings)


@pytest.fixture
async def waiting(client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock) -> list[str]:
    """Five patients on the waitlist, a minute apart (their ids, first come first); then a visit
    is cancelled, and its time offered to the first three."""
    waiting = []
    for n in range(5):
        waiting.append(await waitlisted(client, f"w{n}@example.com"))
        clock.advance(dt.timedelta(minutes=1))
    await cancelled_visit(client, desk)
    return waiting


async def test_unanswered_offers_expire_and_the_next_patients_are_offered(
    client: httpx.AsyncClient,
    app: FastAPI,
    desk: dict[str, str],
    clock: FrozenClock,
    waiting: list[str],
) -> None:
    first_round = {str(o.appointment_id) for o in await offers(app)}
    assert first_round == set(waiting[:3])
    assert await advance(app) == 0  # nothing is due yet

    clock.advance(dt.timedelta(hours=app.state.settings.offer_hours))
    assert await advance(app) == 3 + 2
    by_round = {(str(o.appointment_id), o.round, o.status) for o in await offers(app)}
    assert by_round == {
        *((patient, 1, OfferStatus.expired) for patient in waiting[:3]),
        *((patient, 2, OfferStatus.open) for patient in waiting[3:]),
    }
    assert await advance(app) == 0  # twice is once

    late = await client.post(f"/api/v1/offers/{await token_for(app, waiting[0])}/accept")
    assert assert_problem(late, 409)["type"].endswith("/offer-expired")
    history = (await client.get(f"/api/v1/appointments/{waiting[0]}/events", headers=desk)).json()
    assert [event["action"] for event in history][-2:] == ["offer_sent", "offer_expired"]

    on_time = await client.post(f"/api/v1/offers/{await token_for(app, waiting[4])}/accept")
    assert on_time.status_code == 200, on_time.text


async def test_a_time_the_desk_booked_meanwhile_is_not_offered_again(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str], waiting: list[str]
) -> None:
    walk_in = await create_request(client, patient__email="walk-in@example.com")
    booked = await confirm(client, desk, walk_in, start=chicago(OPEN_DAY, "09:00"))
    assert booked.status_code == 200, booked.text

    app.state.clock.advance(dt.timedelta(hours=app.state.settings.offer_hours))
    assert await advance(app) == 3  # the first round expires; no second round
    assert {str(o.appointment_id) for o in await offers(app)} == set(waiting[:3])


@pytest.mark.usefixtures("waiting")
async def test_an_offer_ends_when_its_time_starts_and_then_nobody_is_offered_it(
    app: FastAPI, clock: FrozenClock
) -> None:
    clock.advance(dt.timedelta(days=30))
    assert await advance(app) == 3
    assert {o.status for o in await offers(app)} == {OfferStatus.expired}


async def test_two_workers_at_once_offer_each_patient_once(
    app: FastAPI, clock: FrozenClock, waiting: list[str]
) -> None:
    clock.advance(dt.timedelta(hours=app.state.settings.offer_hours))

    done = await asyncio.gather(advance(app), advance(app), advance(app))

    assert sum(done) == 5, done
    second_round = [o for o in await offers(app) if o.round == 2]
    assert sorted(str(o.appointment_id) for o in second_round) == sorted(waiting[3:])


async def test_the_scheduler_runs_it(app: FastAPI, clock: FrozenClock, waiting: list[str]) -> None:
    """Registered as a job: a worker's tick expires the unanswered offers and offers the next."""
    from booking.jobs.scheduler import Scheduler

    clock.advance(dt.timedelta(hours=app.state.settings.offer_hours))
    scheduler = Scheduler(
        sessionmaker=app.state.sessionmaker, settings=app.state.settings, clock=clock
    )
    assert (await scheduler.tick())["offers.advance"] == 3 + 2
    open_now = {str(o.appointment_id) for o in await offers(app) if o.status == OfferStatus.open}
    assert open_now == set(waiting[3:])
