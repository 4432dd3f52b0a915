"""Two server processes on one database: concurrent writers never see "database is locked",
and a double submit racing itself across processes still creates one request."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

from booking.appointments.models import Appointment
from booking.db import create_engine
from tests.conftest import make_settings
from tests.factories import appointment_request
from tests.servers import next_open_day, running_servers


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
