"""The diary's reads: free times for a month, suggestions for a request, a week's schedule.

    python bench/diary.py [--visits 2000] [--requests 200] [--skip-sqlite] [--skip-postgres]

For each database it migrates a fresh one, adds two providers, fills the table with
``--visits`` confirmed visits (two providers, one 30-minute visit an hour on open days from
tomorrow on: the diary is busy, not full) and a patient request preferring three open days,
starts `booking serve` (one process), signs in, and times over loopback, one request at a
time:

- GET /api/v1/availability for one provider over 31 days (30-minute visits): the busy one, and
  a third provider without visits (a month of free slots, the largest answer),
- GET /api/v1/appointments/{id}/suggestions (limit 5) for the request,
- GET /api/v1/schedule for a week (every provider).

Targets (issue 13): p50 <= 15 ms, <= 10 ms and <= 15 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert

from booking.appointments.models import appointments_table
from booking.config import load_settings
from booking.db import create_engine
from booking.providers.models import DEFAULT_PROVIDER_ID, Provider

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.databases import ensure_database
from tests.factories import appointment_request
from tests.servers import BOOKING, booking_env, running_servers

PASSWORD = "bench password 1234"
ZONE = ZoneInfo("America/Chicago")
SECOND_PROVIDER_ID = uuid.UUID("00000000-0000-4000-8000-000000000002")
# No visits: the month is all free slots, the largest answer.
FREE_PROVIDER_ID = uuid.UUID("00000000-0000-4000-8000-000000000003")


def open_days(first: dt.date, count: int) -> list[dt.date]:
    days = []
    day = first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def visit_rows(count: int) -> list[dict[str, Any]]:
    """``count`` confirmed 30-minute visits, at 08:00, 09:00, ... 16:00 for two providers."""
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    for day in open_days(dt.date.today() + dt.timedelta(days=1), count // 18 + 1):
        for hour in range(8, 17):
            for provider_id in (DEFAULT_PROVIDER_ID, SECOND_PROVIDER_ID):
                if len(rows) == count:
                    return rows
                start = dt.datetime.combine(day, dt.time(hour), tzinfo=ZONE).astimezone(dt.UTC)
                number = len(rows)
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "reference": f"BNCH-{number:04d}",
                        "status": "confirmed",
                        "first_name": f"First{number}",
                        "last_name": f"Last{number}",
                        "email": f"patient{number}@example.com",
                        "phone": f"+1312555{number % 10000:04d}",
                        "date_of_birth": None,
                        "is_new_patient": True,
                        "reason_code": "back_pain",
                        "reason_detail": None,
                        "preferred_windows": [{"date": day.isoformat(), "part_of_day": "any"}],
                        "contact_preference": "email",
                        "urgent_symptoms": [],
                        "is_urgent": False,
                        "provider_id": provider_id,
                        "start_at": start,
                        "end_at": start + dt.timedelta(minutes=30),
                        "consent_at": now,
                        "created_at": now,
                        "updated_at": now,
                        "version": 2,
                        "anonymised_at": None,
                        "calendar_sequence": 0,
                    }
                )
    return rows


async def fill(database_url: str, visits: int) -> None:
    engine = create_engine(load_settings(_env_file=None, database_url=database_url))
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(Provider.__table__),  # type: ignore[arg-type]
                [
                    {
                        "id": provider_id,
                        "name": name,
                        "is_active": True,
                        "created_at": dt.datetime.now(dt.UTC),
                    }
                    for provider_id, name in (
                        (SECOND_PROVIDER_ID, "Second"),
                        (FREE_PROVIDER_ID, "Free"),
                    )
                ],
            )
            await connection.execute(insert(appointments_table), visit_rows(visits))
    finally:
        await engine.dispose()


def timed(client: httpx.Client, url: str, params: dict[str, Any], requests: int) -> list[float]:
    for _ in range(10):  # warm-up
        client.get(url, params=params)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, params=params)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return timings


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):7.2f} ms   p99 {p99:7.2f} ms"


def run(name: str, url: str, args: argparse.Namespace, workdir: Path) -> None:
    env = booking_env(url)
    subprocess.run([BOOKING, "migrate"], env=env, check=True, capture_output=True)
    asyncio.run(fill(url, args.visits))
    subprocess.run(
        [BOOKING, "staff", "create", "bench@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        text=True,
        check=True,
        capture_output=True,
    )
    first, second, third = open_days(dt.date.today() + dt.timedelta(days=2), 3)
    with (
        running_servers(url, workdir) as [base],
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        token = client.post(
            "/api/v1/auth/token", data={"username": "bench@example.com", "password": PASSWORD}
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        windows = [
            {"date": first.isoformat(), "part_of_day": "morning"},
            {"date": second.isoformat(), "part_of_day": "afternoon"},
            {"date": third.isoformat(), "part_of_day": "any"},
        ]
        created = client.post(
            "/api/v1/appointments", json=appointment_request(preferred_windows=windows)
        )
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        today = dt.date.today()
        month = {
            "from": today.isoformat(),
            "to": (today + dt.timedelta(days=31)).isoformat(),
            "duration_minutes": 30,
            "provider_id": str(DEFAULT_PROVIDER_ID),
        }
        slots = client.get("/api/v1/availability", params=month).json()["slots"]
        free_month = {**month, "provider_id": str(FREE_PROVIDER_ID)}
        all_free = client.get("/api/v1/availability", params=free_month).json()["slots"]
        week = {"date": open_days(today + dt.timedelta(days=1), 1)[0].isoformat(), "days": 7}
        visits = client.get("/api/v1/schedule", params=week).json()["visits"]
        print(f"\n{name}: {args.visits:,} confirmed visits; one provider's month")
        measures = [
            (f"availability, 31 days, {len(slots)} slots", "/api/v1/availability", month),
            (f"availability, 31 days, {len(all_free)} slots", "/api/v1/availability", free_month),
            (
                "suggestions, limit 5",
                f"/api/v1/appointments/{request_id}/suggestions",
                {"limit": 5},
            ),
            (f"schedule, a week ({len(visits)} visits)", "/api/v1/schedule", week),
        ]
        for label, path, params in measures:
            print(f"  {label:<38}{summary(timed(client, path, params, args.requests))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/booking_bench_diary"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        if not args.skip_sqlite:
            run("sqlite", f"sqlite:///{workdir}/bench.db", args, workdir)
        if not args.skip_postgres:
            asyncio.run(ensure_database(args.postgres, fresh=True))
            run("postgresql", args.postgres, args, workdir)


if __name__ == "__main__":
    main()
