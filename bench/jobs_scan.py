"""The scheduler's due-work scans over a large table stay index range scans.

    python bench/jobs_scan.py [--rows 1000000] [--runs 30]
        [--url postgresql://postgres@127.0.0.1:5432/booking_bench_jobs]

Builds a fresh PostgreSQL database (migrations, then ``--rows`` appointments inserted with
generate_series in one statement: 70 % completed visits over the past two years, 10 %
cancelled, 5 % declined, 3 % no-shows, 3 % expired, 5 % confirmed visits over the next 70
days, 4 % requests waiting from the last 14 days, each confirmed visit with its audit event;
the state of a scheduler that ran a minute ago: only the last minute's work is due),
then, for each query the jobs run to find due work (the very statements of booking.jobs.service,
with their LIMIT and FOR UPDATE SKIP LOCKED), prints the plan's scan nodes, the execution
time EXPLAIN ANALYZE reports and the p50/max of ``--runs`` timed executions (each rolled back).
The digest's counts, which run once a day, are measured the same way for information.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, literal, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

sys.path.insert(0, str(Path(__file__).parents[1]))
from booking import migrations
from booking.appointments.models import SCHEDULED_STATUSES, appointments_table
from booking.config import load_settings
from booking.db import create_engine
from booking.jobs import service as jobs
from tests.databases import ensure_database

NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)

FILL = """
INSERT INTO appointments (
    id, reference, status, first_name, last_name, email, phone, date_of_birth, is_new_patient,
    reason_code, reason_detail, preferred_windows, contact_preference, urgent_symptoms,
    is_urgent, provider_id, start_at, end_at, consent_at, created_at, updated_at, version,
    calendar_sequence, last_preferred_date
)
SELECT
    md5(i::text)::uuid,
    'B' || lpad(to_hex(i), 8, '0'),
    kind.status,
    'First', 'Last', 'patient' || i || '@example.com', '+13125550100', NULL, true,
    'back_pain', NULL,
    json_build_array(json_build_object('date', kind.last_day, 'part_of_day', 'any')),
    'email', '[]'::json, i % 50 = 0,
    CASE WHEN kind.start_at IS NULL THEN NULL ELSE (SELECT id FROM providers LIMIT 1) END,
    kind.start_at, kind.start_at + interval '1 minute',
    kind.created_at, kind.created_at, kind.created_at, 2, 0, kind.last_day
FROM generate_series(1, :rows) AS i
CROSS JOIN LATERAL (
    SELECT
        CASE
            WHEN i % 100 < 70 THEN 'completed'
            WHEN i % 100 < 80 THEN 'cancelled'
            WHEN i % 100 < 85 THEN 'declined'
            WHEN i % 100 < 88 THEN 'no_show'
            WHEN i % 100 < 91 THEN 'expired'
            WHEN i % 100 < 96 THEN 'confirmed'
            ELSE 'requested'
        END AS status,
        CASE
            WHEN i % 100 < 70 OR i % 100 BETWEEN 85 AND 87
                THEN :now - (i % 1000003) * interval '1 minute'
            -- confirmed: one provider, a minute each, two minutes apart (no overlap)
            WHEN i % 100 BETWEEN 91 AND 95
                THEN :now + (i / 100 * 5 + i % 100 - 91) * interval '2 minutes'
        END AS start_at,
        CASE
            -- waiting: from the last 14 days and a few minutes (those few are due)
            WHEN i % 100 >= 96 THEN :now - (i % 20200) * interval '1 minute'
            ELSE :now - interval '800 days' + (i % 1000003) * interval '1 minute'
        END AS created_at,
        -- one request in 5,000 has had its last preferred day pass (due)
        (:now)::date + (i % 60) - CASE WHEN i % 5000 = 97 THEN 61 ELSE 0 END AS last_day
) AS kind
"""

EVENTS = """
INSERT INTO appointment_events (
    id, appointment_id, version, occurred_at, action, from_status, to_status, reason, source,
    actor_staff_id, details
)
SELECT md5('event' || id::text)::uuid, id, 2, created_at, 'confirmed', 'requested', 'confirmed',
       NULL, 'api', NULL, '{}'::json
FROM appointments WHERE status = 'confirmed'
"""

# A scheduler that has run all along, last a minute ago: the reminders of past visits and of
# the visits already inside each window are recorded, those of the last minute are due.
REMINDERS = """
INSERT INTO visit_reminders (appointment_id, hours, start_at, sent, recorded_at)
SELECT id, hours, start_at, true, :now
FROM appointments CROSS JOIN (VALUES (48), (2)) AS reminder(hours)
WHERE status IN ('confirmed', 'completed', 'no_show')
  AND start_at <= :now + (hours * 60 - 1) * interval '1 minute'
"""


def due_work_scans(settings: Any) -> dict[str, Select[Any]]:
    scans: dict[str, Select[Any]] = {}
    for statement, reason in jobs.expiry_scans(NOW, settings):
        name = "expire: by age" if "days" in reason.split(".")[0] else "expire: days passed"
        scans[name] = statement.limit(jobs.BATCH).with_for_update(skip_locked=True)
    for hours in settings.reminder_hours:
        scans[f"remind: {hours} h"] = jobs.reminder_scan(hours, NOW).limit(jobs.BATCH)
    return scans


def digest_queries() -> dict[str, Select[Any]]:
    table = appointments_table
    waiting = jobs._status_is(jobs.AppointmentStatus.requested)
    since = NOW - dt.timedelta(days=1)
    count = select(func.count()).select_from(table)
    return {
        "digest: new since": count.where(table.c.created_at > since),
        "digest: waiting": count.where(waiting),
        "digest: urgent waiting": count.where(waiting, table.c.is_urgent.is_(True)),
        "digest: oldest waiting": select(func.min(table.c.created_at)).where(waiting),
        "digest: visits today": count.where(
            table.c.status.in_([literal_column(f"'{status}'") for status in SCHEDULED_STATUSES]),
            table.c.start_at >= NOW,
            table.c.start_at < NOW + dt.timedelta(days=1),
        ),
        "digest: expired since": count.where(
            jobs._status_is(jobs.AppointmentStatus.expired), table.c.updated_at > since
        ),
    }


def scan_nodes(plan: dict[str, Any]) -> list[str]:
    found = []
    node_type = plan["Node Type"]
    if "Scan" in node_type:
        found.append(f"{node_type} using {plan.get('Index Name', '-')}")
    for child in plan.get("Plans", []):
        found.extend(scan_nodes(child))
    return found


async def measure(
    connection: AsyncConnection, name: str, statement: Select[Any], runs: int
) -> None:
    compiled = statement.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    ordered = tuple(params[key] for key in compiled.positiontup or [])
    transaction = await connection.begin()
    try:
        result = await connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + compiled.string, ordered
        )
        raw = result.scalar_one()
        plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            await connection.exec_driver_sql(compiled.string, ordered)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        await transaction.rollback()
    print(
        f"| {name} | {', '.join(scan_nodes(plan['Plan']))} | {plan['Execution Time']:.2f} ms "
        f"| {statistics.median(timings):.2f} / {max(timings):.2f} ms |"
    )


async def main(url: str, rows: int, runs: int) -> None:
    await ensure_database(url, fresh=True)
    settings = load_settings(
        _env_file=None, database_url=url, secret_key="bench-" + "x7Qz" * 10, reminder_hours="48,2"
    )
    engine = create_engine(settings)
    try:
        await migrations.upgrade(engine)
        started = time.perf_counter()
        async with engine.begin() as connection:
            now = f"'{NOW.isoformat()}'::timestamptz"
            await connection.exec_driver_sql(FILL.replace(":rows", str(rows)).replace(":now", now))
            await connection.exec_driver_sql(EVENTS)
            await connection.exec_driver_sql(REMINDERS.replace(":now", now))
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE appointments")
            await connection.exec_driver_sql("VACUUM ANALYZE appointment_events")
            await connection.exec_driver_sql("VACUUM ANALYZE visit_reminders")
            counts = await connection.exec_driver_sql(
                "SELECT status, count(*) FROM appointments GROUP BY 1 ORDER BY 1"
            )
            filled = ", ".join(f"{status} {count}" for status, count in counts)
        print(f"{rows} appointments in {time.perf_counter() - started:.0f} s: {filled}\n")
        print("| query | scans in the plan | EXPLAIN ANALYZE | timed p50 / max |")
        print("|---|---|---|---|")
        async with engine.connect() as connection:
            for name, statement in {**due_work_scans(settings), **digest_queries()}.items():
                await measure(connection, name, statement, runs)
            # The reminder job's second step: lock the rows of the due visits it found.
            scan = jobs.reminder_scan(48, NOW).limit(jobs.BATCH)
            due = list((await connection.execute(scan)).scalars())
            await connection.rollback()
            # (each id its own parameter: this script runs statements as the driver sees them)
            locking = jobs.reminder_visits([literal(i) for i in due], 48, NOW)
            await measure(connection, f"remind: lock the {len(due)} due", locking, runs)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/booking_bench_jobs")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.url, arguments.rows, arguments.runs))
