"""The scheduler's own jobs: expire requests nobody answered, remind patients of their visits,
send the front desk its morning digest.

Each finds its due work with an indexed query (bench/jobs_scan.py), and writes what it did in
the transaction that queues the email, so that a second run (another worker, a restart after a
crash) finds it done. Due rows are read ``FOR UPDATE SKIP LOCKED`` on PostgreSQL: a worker
never waits for a row another holds, and a desk action on that row waits for the job's commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, exists, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments import service as appointments
from booking.appointments.lifecycle import (
    SCHEDULED_STATUSES,
    TRANSITIONS,
    Action,
    AppointmentStatus,
    Visit,
)
from booking.appointments.models import appointment_events, appointments_table
from booking.appointments.schemas import ReasonRequest
from booking.clock import local_midnight
from booking.config import Settings
from booking.jobs.models import desk_digests, visit_reminders
from booking.jobs.registry import job
from booking.notifications import service as notifications

logger = logging.getLogger("booking.jobs")

# Rows one run of a job handles; the rest wait for the next tick.
BATCH = 500

AGE_REASON = "Nobody answered the request within {days} days."
DAYS_REASON = "Every preferred day of the request has passed."

# The events that set a visit's time: when the visit was booked (a reminder whose window had
# already begun by then is not sent).
BOOKING_EVENTS = tuple(t.event for t in TRANSITIONS.values() if t.visit is Visit.books)


def _status_is(status: AppointmentStatus) -> ColumnElement[bool]:
    """A literal, not a parameter: the partial indexes' predicate must match in every plan
    (a generic plan of a prepared statement cannot prove ``status = $1`` is 'requested')."""
    return appointments_table.c.status == literal_column(f"'{status.value}'")


async def insert_once(session: AsyncSession, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert the row unless its key is taken (ON CONFLICT DO NOTHING); whether it went in.

    On PostgreSQL a second transaction inserting the same key waits for the first to end, then
    finds the row: the key is the guarantee that a job's work is done once."""
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = next(iter(table.primary_key.columns))
    statement = make(table).values(dict(values)).on_conflict_do_nothing().returning(key)
    return (await session.execute(statement)).first() is not None


# --- expiry ------------------------------------------------------------------------------------


def expiry_scans(now: dt.datetime, settings: Settings) -> list[tuple[Any, str]]:
    """The due-work queries of the expiry job, each with the reason it records."""
    table = appointments_table
    waiting = _status_is(AppointmentStatus.requested)
    scans = []
    days = settings.request_expiry_days
    if days > 0:
        by_age = (
            select(table.c.id)
            .where(waiting, table.c.created_at <= now - dt.timedelta(days=days))
            .order_by(table.c.created_at)
        )
        scans.append((by_age, AGE_REASON.format(days=days)))
    today = now.astimezone(settings.timezone).date()
    by_days = (
        select(table.c.id)
        .where(waiting, table.c.last_preferred_date < today)
        .order_by(table.c.last_preferred_date)
    )
    scans.append((by_days, DAYS_REASON))
    return scans


@job("requests.expire")
async def expire_requests(session: AsyncSession, now: dt.datetime, settings: Settings) -> int:
    """``requested`` → ``expired`` after BOOKING_REQUEST_EXPIRY_DAYS, or once every preferred
    day has passed (practice-local): through ``appointments.perform``, as the system."""
    ctx = appointments.ActionContext(actor=appointments.SYSTEM, settings=settings, now=now)
    expired = 0
    for scan, reason in expiry_scans(now, settings):
        due = scan.limit(BATCH).with_for_update(skip_locked=True)
        # Rows locked for this transaction and still `requested`: a request the age scan
        # expired is no longer waiting when the passed-days scan runs, so each one moves once.
        for appointment_id in list((await session.execute(due)).scalars()):
            await appointments.perform(
                session, ctx, Action.expire, appointment_id, ReasonRequest(reason=reason)
            )
            expired += 1
            logger.info("appointment %s expired", appointment_id)
    return expired


# --- reminders ---------------------------------------------------------------------------------


def reminder_scan(hours: int, now: dt.datetime) -> Any:
    """Confirmed visits starting within ``hours`` whose reminder of that hour is not recorded
    for their current time: their ids only, so that both the range of ix_appointments_schedule
    (status, start_at, id) and the check of the visit_reminders key are read from the indexes
    alone; ``reminder_visits`` then locks the few that are due."""
    table, done = appointments_table, visit_reminders
    recorded = exists().where(
        done.c.appointment_id == table.c.id,
        done.c.hours == hours,
        done.c.start_at == table.c.start_at,
    )
    return (
        select(table.c.id)
        .where(
            _status_is(AppointmentStatus.confirmed),
            table.c.start_at > now,
            table.c.start_at <= now + dt.timedelta(hours=hours),
            ~recorded,
        )
        .order_by(table.c.start_at)
    )


def reminder_visits(ids: list[uuid.UUID], hours: int, now: dt.datetime) -> Any:
    """The due visits' rows, locked (skipping those another transaction holds): checked again
    under the lock, as a desk action may have moved or cancelled one since the scan."""
    table = appointments_table
    return (
        select(*table.c)
        .where(
            table.c.id.in_(ids),
            _status_is(AppointmentStatus.confirmed),
            table.c.start_at > now,
            table.c.start_at <= now + dt.timedelta(hours=hours),
        )
        .order_by(table.c.start_at)
        .with_for_update(skip_locked=True)
    )


async def _booked_at(
    session: AsyncSession, appointment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dt.datetime]:
    """When each visit's current time was set (its latest confirm or reschedule)."""
    events = appointment_events
    rows = await session.execute(
        select(events.c.appointment_id, func.max(events.c.occurred_at))
        .where(
            events.c.appointment_id.in_(appointment_ids),
            events.c.action.in_(BOOKING_EVENTS),
        )
        .group_by(events.c.appointment_id)
    )
    return {appointment_id: occurred_at for appointment_id, occurred_at in rows}


@job("visits.remind")
async def send_reminders(session: AsyncSession, now: dt.datetime, settings: Settings) -> int:
    """One email per visit time at each of BOOKING_REMINDER_HOURS before it.

    Hours are real hours (48 hours before a visit on the Monday after the clocks change is 47
    or 49 hours by the wall clock). A reminder is skipped when the visit was booked after its
    window began (booked 10 hours ahead: only the 2-hour one), or when a later one is due too
    (after an outage, only the latest). A reschedule is a new visit time, so its reminders are
    armed again; a cancelled visit is no longer confirmed, so none is sent.
    """
    hours_list = sorted(settings.reminder_hours)
    sent = 0
    for hours in hours_list:
        ids = list((await session.execute(reminder_scan(hours, now).limit(BATCH))).scalars())
        if not ids:
            continue
        locked = await session.execute(reminder_visits(ids, hours, now))
        visits = [dict(row._mapping) for row in locked]
        booked = await _booked_at(session, [visit["id"] for visit in visits])
        for visit in visits:
            start_at: dt.datetime = visit["start_at"]
            window_opened = start_at - dt.timedelta(hours=hours)
            booked_late = visit["id"] in booked and booked[visit["id"]] > window_opened
            later_one_due = any(
                other < hours and start_at <= now + dt.timedelta(hours=other)
                for other in hours_list
            )
            send = not booked_late and not later_one_due
            recorded = await insert_once(
                session,
                visit_reminders,
                {
                    "appointment_id": visit["id"],
                    "hours": hours,
                    "start_at": start_at,
                    "sent": send,
                    "recorded_at": now,
                },
            )
            if recorded and send:
                notifications.queue_rows(
                    session, [notifications.reminder_row(visit, hours=hours, now=now)]
                )
                sent += 1
                logger.info("appointment %s: %sh reminder queued", visit["id"], hours)
    return sent


# --- the morning digest ------------------------------------------------------------------------


async def digest_counts(
    session: AsyncSession, *, since: dt.datetime, day: dt.date, now: dt.datetime, settings: Settings
) -> dict[str, Any]:
    """Counts only: nothing about any one patient."""
    table = appointments_table
    waiting = _status_is(AppointmentStatus.requested)

    async def count(*conditions: ColumnElement[bool]) -> int:
        found = await session.scalar(select(func.count()).select_from(table).where(*conditions))
        return int(found or 0)

    oldest = await session.scalar(select(func.min(table.c.created_at)).where(waiting))
    day_begins = local_midnight(day, settings.timezone)
    day_ends = local_midnight(day + dt.timedelta(days=1), settings.timezone)
    return {
        "new_requests": await count(table.c.created_at > since),
        "waiting": await count(waiting),
        "urgent_waiting": await count(waiting, table.c.is_urgent.is_(True)),
        "oldest_waiting_hours": (
            None if oldest is None else int((now - oldest).total_seconds() // 3600)
        ),
        "visits_today": await count(
            table.c.status.in_([status.value for status in SCHEDULED_STATUSES]),
            table.c.start_at >= day_begins,
            table.c.start_at < day_ends,
        ),
        "expired": await count(_status_is(AppointmentStatus.expired), table.c.updated_at > since),
    }


@job("desk.digest")
async def send_digest(session: AsyncSession, now: dt.datetime, settings: Settings) -> int:
    """The front desk's digest, once per practice-local day, at or after BOOKING_DIGEST_TIME
    (late after an outage, never twice: one desk_digests row per day)."""
    at = settings.digest_at
    if at is None:
        return 0
    local = now.astimezone(settings.timezone)
    day = local.date()
    if local.time() < at:
        return 0
    digests = desk_digests
    if await session.scalar(select(digests.c.digest_date).where(digests.c.digest_date == day)):
        return 0
    previous = await session.scalar(
        select(digests.c.sent_at)
        .where(digests.c.digest_date < day)
        .order_by(digests.c.digest_date.desc())
        .limit(1)
    )
    since = previous or now - dt.timedelta(days=1)
    counts = await digest_counts(session, since=since, day=day, now=now, settings=settings)
    values = {"digest_date": day, "sent_at": now, "counts": counts}
    if not await insert_once(session, digests, values):
        return 0
    notifications.queue_rows(session, [notifications.digest_row(counts, day=day, now=now)])
    logger.info("desk digest of %s queued", day.isoformat())
    return 1
