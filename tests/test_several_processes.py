"""Two server processes on one database: concurrent writers never see "database is locked",
and a double submit racing itself across processes still creates one request."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

from booking.appointments.models import Appointment
from booking.db import create_engine
from tests.factories import appointment_request
from tests.servers import next_open_day, running_servers
from tests.settings import make_settings


def body() -> dict[str, object]:
    return appointment_request(preferred_windows=[{"date": next_open_day(), "part_of_day": "any"}])


async def post_all(urls: list[str], count: int, key: str | None = None) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60) as client:

        async def post(index: int) -> httpx.Response:
            headers = {"Idempotency-Key": key or uuid.uuid4().hex}
            url = urls[index % len(urls)] + "/api/v1/appointments"
            return await client.post(url, json=body(), headers=headers)

        return await asyncio.gather(*(post(index) for index in range(count)))


async def count_rows(database_url: str) -> int:
    engine = create_engine(make_settings(database_url))
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(Appointment)))
    finally:
        await engine.dispose()


def test_concurrent_writers_in_two_processes_all_succeed(database_url: str, tmp_path: Path) -> None:
    with running_servers(database_url, tmp_path, count=2) as urls:
        responses = asyncio.run(post_all(urls, 60))
    statuses = [response.status_code for response in responses]
    assert statuses == [201] * 60, [r.text for r in responses if r.status_code != 201][:3]
    assert len({r.json()["reference"] for r in responses}) == 60
    assert asyncio.run(count_rows(database_url)) == 60


def test_a_double_submit_across_two_processes_creates_one_request(
    database_url: str, tmp_path: Path
) -> None:
    with running_servers(database_url, tmp_path, count=2) as urls:
        responses = asyncio.run(post_all(urls, 30, key="double-submit"))
    statuses = {response.status_code for response in responses}
    assert statuses <= {201, 409}, [r.text for r in responses]
    originals = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(originals) == 1
    assert {r.json()["id"] for r in responses if r.status_code == 201} == {
        originals[0].json()["id"]
    }
    assert asyncio.run(count_rows(database_url)) == 1


def test_two_servers_and_a_worker_under_load_keep_bookings_and_emails_exact(
    database_url: str, tmp_path: Path
) -> None:
    """60 requests through two servers, 60 clerks confirming them into 20 slots at once, a
    separate worker delivering: 20 visits, no overlap, and every email exactly once."""
    import collections
    import signal
    import subprocess
    import time as clock
    from zoneinfo import ZoneInfo

    from tests.notifications.smtp import SmtpServer
    from tests.servers import BOOKING, booking_env
    from tests.staff.helpers import create_staff_with_cli

    smtp = SmtpServer()
    smtp.start()
    settings = {
        "notifier": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(smtp.port),
        "relay_in_process": "false",
    }
    env = booking_env(database_url, **settings)
    clerk = create_staff_with_cli(env, tmp_path, "load@practice.example")
    worker = subprocess.Popen(
        [BOOKING, "worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    day = dt.date.fromisoformat(next_open_day())
    offset = dt.datetime.combine(day, dt.time(12), ZoneInfo("America/Chicago")).strftime("%z")
    slots = [
        f"{day}T{9 + n // 4:02d}:{15 * (n % 4):02d}:00{offset[:3]}:{offset[3:]}" for n in range(20)
    ]

    async def load(urls: list[str], token: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as http:
            created = await post_all(urls, 60)
            assert [r.status_code for r in created] == [201] * 60
            return list(
                await asyncio.gather(
                    *(
                        http.post(
                            f"{urls[n % 2]}/api/v1/appointments/{r.json()['id']}/confirm",
                            json={"start": slots[n % 20], "duration_minutes": 15},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        for n, r in enumerate(created)
                    )
                )
            )

    try:
        with running_servers(database_url, tmp_path, count=2, **settings) as urls:
            confirms = asyncio.run(load(urls, clerk.access_token(urls[0])))
            expected = 60 + 60 + 20  # received (patient), new request (desk), confirmed
            deadline = clock.monotonic() + 60
            while len(smtp.messages) < expected and clock.monotonic() < deadline:
                clock.sleep(0.2)
            clock.sleep(1)  # anything extra would arrive now
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, worker.stderr.read() if worker.stderr else ""
    finally:
        if worker.poll() is None:
            worker.kill()
        smtp.stop()

    assert sorted(r.status_code for r in confirms) == [200] * 20 + [409] * 40
    assert asyncio.run(count_rows(database_url)) == 60
    ids = collections.Counter(message["Message-ID"] for message in smtp.messages)
    assert len(ids) == expected, f"{len(ids)} distinct emails, expected {expected}"
    assert set(ids.values()) == {1}, "an email was delivered twice"
    subjects = collections.Counter(message["Subject"] for message in smtp.messages)
    assert subjects["Your appointment at Spine Practice is confirmed"] == 20
