"""Two real `booking worker` processes on PostgreSQL over the same due work: each reminder,
expiry email and digest arrives once. Real processes run on the real clock, so the due work is
made relative to it: requests made 20 days ago (through the app, on a clock put back), some of
them turned into visits starting within the hour."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from booking.appointments.models import Appointment
from booking.clock import FrozenClock
from tests.helpers import create_request
from tests.notifications.smtp import SmtpServer
from tests.servers import BOOKING, booking_env

REAL_NOW = dt.datetime.now(dt.UTC)
VISITS = 8
STALE = 8


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(REAL_NOW - dt.timedelta(days=20))


def an_open_day_ahead() -> str:
    day = REAL_NOW.date() + dt.timedelta(days=10)
    while day.weekday() >= 5 or (day.month, day.day) == (12, 25):
        day += dt.timedelta(days=1)
    return day.isoformat()


@pytest.mark.postgres_only
async def test_two_worker_processes_send_each_job_email_once(
    database_url: str,
    client: httpx.AsyncClient,
    app: FastAPI,
    tmp_path: Path,
    smtp_server: SmtpServer,
) -> None:
    day = an_open_day_ahead()
    ids = [
        await create_request(client, preferred_windows=[{"date": day, "part_of_day": "any"}])
        for _ in range(VISITS + STALE)
    ]
    soon = REAL_NOW + dt.timedelta(minutes=30)
    async with app.state.sessionmaker() as session, session.begin():
        provider = await session.scalar(text("SELECT id FROM providers LIMIT 1"))
        for number, appointment_id in enumerate(ids[:VISITS]):
            start = soon + dt.timedelta(minutes=2 * number)
            await session.execute(
                text(
                    "UPDATE appointments SET status = 'confirmed', provider_id = :provider, "
                    "start_at = :start, end_at = :end WHERE id = :id"
                ),
                {
                    "provider": provider,
                    "start": start,
                    "end": start + dt.timedelta(minutes=1),
                    "id": appointment_id,
                },
            )

    settings = {
        "notifier": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(smtp_server.port),
        "relay_in_process": "false",
        "front_desk_email": "desk@spine.example",
        "digest_time": "00:00",  # due whenever the test runs
    }
    env = booking_env(database_url, **settings)
    workers = [
        await asyncio.create_subprocess_exec(
            BOOKING,
            "worker",
            "--once",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = await asyncio.wait_for(
        asyncio.gather(*(worker.communicate() for worker in workers)), timeout=120
    )
    assert all(worker.returncode == 0 for worker in workers), outputs

    subjects = collections.Counter(
        (message["To"], message["Subject"].split(" at ")[0].split(" for ")[0])
        for message in smtp_server.messages
    )
    patient = "ana.ruiz@example.com"
    assert subjects[(patient, "Reminder: your appointment")] == VISITS
    assert subjects[(patient, "About your appointment request")] == STALE
    assert subjects[("desk@spine.example", "Front desk digest")] == 1
    message_ids = collections.Counter(message["Message-ID"] for message in smtp_server.messages)
    assert set(message_ids.values()) == {1}
    async with app.state.sessionmaker() as session:
        statuses = collections.Counter(
            (await session.execute(select(Appointment.status))).scalars()
        )
    assert statuses == {"confirmed": VISITS, "expired": STALE}
