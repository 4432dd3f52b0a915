"""A page deep in a large table costs about what the first page costs (keyset pagination).

    python bench/deep_page.py [--rows 1000000] [--depth 250000] [--requests 200] [--sqlite]

Fills a fresh database with ``--rows`` requested appointments (2% urgent), starts
`booking serve` on it, signs in, and times GET /api/v1/appointments (the desk's default view:
status=requested, urgent first, oldest first, 25 a page) for the first page and for the page at
``--depth``, over loopback, one request at a time. Prints p50/p99 of each and their ratio, and
the database's query plan for the deep page.
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

import httpx
from sqlalchemy import text

from booking.appointments.listing import ListFilters, SortOrder, encode_cursor
from booking.appointments.models import AppointmentStatus
from booking.appointments.service import REFERENCE_ALPHABET
from booking.config import load_settings
from booking.db import create_engine

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.servers import BOOKING, booking_env, running_servers
from tests.staff.helpers import create_staff_with_cli

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def reference(number: int) -> str:
    digits = []
    for _ in range(8):
        number, rest = divmod(number, len(REFERENCE_ALPHABET))
        digits.append(REFERENCE_ALPHABET[rest])
    code = "".join(digits)
    return f"{code[:4]}-{code[4:]}"


def rows(start: int, count: int) -> list[tuple[Any, ...]]:
    """Appointments number ``start`` to ``start + count``, one second apart, 2 % urgent."""
    windows = '[{"date": "2026-12-07", "part_of_day": "any"}]'
    result = []
    for number in range(start, start + count):
        created = START + dt.timedelta(seconds=number)
        urgent = number % 50 == 0
        result.append(
            (
                uuid.uuid4(),
                reference(number),
                "requested",
                f"First{number}",
                f"Last{number}",
                f"patient{number}@example.com",
                f"+1312555{number % 10000:04d}",
                None,
                True,
                "back_pain",
                None,
                windows,
                "email",
                '["recent_trauma"]' if urgent else "[]",
                urgent,
                created,
                created,
                created,
                1,
            )
        )
    return result


COLUMNS = [
    "id",
    "reference",
    "status",
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "is_new_patient",
    "reason_code",
    "reason_detail",
    "preferred_windows",
    "contact_preference",
    "urgent_symptoms",
    "is_urgent",
    "consent_at",
    "created_at",
    "updated_at",
    "version",
]


async def fill(database_url: str, count: int) -> None:
    engine = create_engine(load_settings(_env_file=None, database_url=database_url))
    batch = 50_000
    try:
        async with engine.begin() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            if engine.dialect.name == "postgresql":
                for offset in range(0, count, batch):
                    await driver.copy_records_to_table(
                        "appointments",
                        records=rows(offset, min(batch, count - offset)),
                        columns=COLUMNS,
                    )
                await connection.execute(text("ANALYZE appointments"))
            else:
                placeholders = ", ".join("?" for _ in COLUMNS)
                statement = (
                    f"INSERT INTO appointments ({', '.join(COLUMNS)}) VALUES ({placeholders})"
                )
                cursor = await driver.cursor()
                for offset in range(0, count, batch):
                    chunk = [
                        (
                            row[0].hex,
                            *row[1:15],
                            *(value.strftime("%Y-%m-%d %H:%M:%S.%f") for value in row[15:18]),
                            row[18],
                        )
                        for row in rows(offset, min(batch, count - offset))
                    ]
                    await cursor.executemany(statement, chunk)
                await cursor.execute("ANALYZE")
    finally:
        await engine.dispose()


async def deep_cursor(database_url: str, depth: int) -> tuple[str, str]:
    """The cursor a clerk holds after paging to ``depth``, and the deep query's plan."""
    engine = create_engine(load_settings(_env_file=None, database_url=database_url))
    try:
        async with engine.connect() as connection:
            urgent_count = (
                await connection.execute(
                    text("SELECT count(*) FROM appointments WHERE status='requested' AND is_urgent")
                )
            ).scalar_one()
            segment_urgent = depth <= urgent_count
            offset = depth - 1 if segment_urgent else depth - 1 - urgent_count
            row = (
                await connection.execute(
                    text(
                        "SELECT created_at, id FROM appointments WHERE status='requested' "
                        "AND is_urgent = :urgent ORDER BY created_at, id LIMIT 1 OFFSET :offset"
                    ),
                    {"urgent": segment_urgent, "offset": offset},
                )
            ).one()
            created_at = row[0]
            if isinstance(created_at, str):  # SQLite hands back text
                created_at = dt.datetime.fromisoformat(created_at).replace(tzinfo=dt.UTC)
            row_id = row[1] if isinstance(row[1], uuid.UUID) else uuid.UUID(str(row[1]))
            key = [segment_urgent, created_at.isoformat(), str(row_id)]
            explain = (
                "EXPLAIN ANALYZE" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
            )
            id_value = row_id if engine.dialect.name == "postgresql" else row_id.hex
            stored_at = (
                created_at
                if engine.dialect.name == "postgresql"
                else created_at.strftime("%Y-%m-%d %H:%M:%S.%f")
            )
            plan = await connection.execute(
                text(
                    f"{explain} SELECT * FROM appointments WHERE status = 'requested' "
                    "AND is_urgent = :urgent AND (created_at, id) > (:created, :id) "
                    "ORDER BY created_at, id LIMIT 26"
                ),
                {"urgent": segment_urgent, "created": stored_at, "id": id_value},
            )
            plan_text = "\n".join("    " + " ".join(str(part) for part in line) for line in plan)
    finally:
        await engine.dispose()
    filters = ListFilters(statuses=[AppointmentStatus.requested])
    return encode_cursor(SortOrder.triage, filters, key), plan_text


def timed(client: httpx.Client, params: dict[str, str], requests: int) -> list[float]:
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/api/v1/appointments", params=params)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 25
    return timings


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):7.2f} ms   p99 {p99:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--depth", type=int, default=250_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/booking_bench_list"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{workdir}/bench.db" if args.sqlite else args.postgres
        if not args.sqlite:
            from tests.databases import ensure_database

            asyncio.run(ensure_database(url, fresh=True))
        env = booking_env(url)
        subprocess.run([BOOKING, "migrate"], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        asyncio.run(fill(url, args.rows))
        print(f"filled {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
        clerk = create_staff_with_cli(env, Path(workdir), "bench@example.com")
        cursor, plan = asyncio.run(deep_cursor(url, args.depth))
        with (
            running_servers(url, Path(workdir)) as [base],
            httpx.Client(base_url=base, timeout=300) as client,
        ):
            client.headers["Authorization"] = f"Bearer {clerk.access_token(base)}"
            first_params = {"status": "requested"}
            deep_params = {"status": "requested", "cursor": cursor}
            timed(client, first_params, 20)  # warm-up
            timed(client, deep_params, 20)
            first = timed(client, first_params, args.requests)
            deep = timed(client, deep_params, args.requests)
    backend = "sqlite" if args.sqlite else "postgresql"
    print(f"{backend}: {args.rows:,} rows, 25 a page, {args.requests} sequential requests each")
    print(f"  first page            {summary(first)}")
    print(f"  page at {args.depth:>9,}   {summary(deep)}")
    print(f"  deep / first (p50)    {statistics.median(deep) / statistics.median(first):.2f}x")
    print("  plan of the deep page's query:")
    print(plan)


if __name__ == "__main__":
    main()
