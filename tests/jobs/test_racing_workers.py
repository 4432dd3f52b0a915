"""Several workers over the same due work: each email goes out exactly once.

Two schedulers tick at once (on PostgreSQL each job runs under an advisory lock, so one of them
skips it), and, without that lock, two transactions run each job's function at the same moment:
the unique rows and ``FOR UPDATE SKIP LOCKED`` alone must keep it to once.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.config import Settings
from booking.jobs.registry import JOBS
from booking.jobs.scheduler import Scheduler
from tests.helpers import chicago, confirm, create_request
from tests.jobs.conftest import Jobs
from tests.notifications.helpers import outbox

VISITS = 6
STALE = 5

# Every test here races over the same due work, the morning's digest included.
pytestmark = pytest.mark.settings(digest_time="07:30")


@pytest.fixture
async def due_work(client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock) -> None:
    """At 08:30 on Monday 7 December: six visits from 09:00 (a 2-hour reminder each), five
    requests whose only preferred day has passed, and the morning's digest."""
    for number in range(VISITS):
        appointment_id = await create_request(
            client, preferred_windows=[{"date": "2026-12-07", "part_of_day": "any"}]
        )
        start = chicago("2026-12-07", f"{9 + number // 4:02d}:{number % 4 * 15:02d}")
        response = await confirm(client, desk, appointment_id, start=start, duration_minutes=15)
        assert response.status_code == 200, response.text
    for _ in range(STALE):
        await create_request(
            client, preferred_windows=[{"date": "2026-12-01", "part_of_day": "any"}]
        )
    clock.advance(dt.datetime.fromisoformat(chicago("2026-12-07", "08:30")) - clock.now())


def queued(messages: list[object]) -> collections.Counter[str]:
    return collections.Counter(
        message.event  # type: ignore[attr-defined]
        for message in messages
        if message.event in {"reminder", "expired", "digest"}  # type: ignore[attr-defined]
    )


EXPECTED = {"reminder": VISITS, "expired": STALE, "digest": 1}


@pytest.mark.usefixtures("due_work")
async def test_two_schedulers_ticking_at_once_do_each_thing_once(
    clock: FrozenClock, app: FastAPI, settings: Settings, jobs: Jobs
) -> None:
    await jobs.deliver()
    schedulers = [
        Scheduler(
            sessionmaker=app.state.sessionmaker, settings=settings, clock=clock, worker_id=name
        )
        for name in ("worker-a", "worker-b")
    ]

    for _ in range(3):
        await asyncio.gather(*(scheduler.tick() for scheduler in schedulers))

    assert queued(await outbox(app)) == EXPECTED
    emails = await jobs.deliver()
    assert len(emails) == sum(EXPECTED.values())
    assert len({email["Message-ID"] for email in emails}) == len(emails)


@pytest.mark.usefixtures("due_work")
async def test_each_job_is_once_even_without_the_lock(
    clock: FrozenClock, app: FastAPI, settings: Settings
) -> None:
    async def run(name: str) -> int:
        async with app.state.sessionmaker() as session, session.begin():
            return await JOBS[name].run(session, clock.now(), settings)

    for name in ("requests.expire", "visits.remind", "desk.digest"):
        done = await asyncio.gather(run(name), run(name))
        assert sum(done) == {"requests.expire": STALE, "visits.remind": VISITS}.get(name, 1)
    assert queued(await outbox(app)) == EXPECTED
