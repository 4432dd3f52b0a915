"""Reminders before each confirmed visit: at the right hours (real hours, across a change of the
clocks), once per visit time, re-armed by a reschedule, disarmed by a cancel."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from tests.helpers import chicago, confirm, create_request
from tests.jobs.conftest import Jobs
from tests.notifications.helpers import manage_token, parts
from tests.staff.helpers import bearer

PATIENT = "ana.ruiz@example.com"
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


async def book(
    client: httpx.AsyncClient, desk: dict[str, str], start: str, **changes: object
) -> str:
    """A request for the visit's own day (``start`` is practice-local ISO), confirmed at
    ``start``."""
    day = dt.datetime.fromisoformat(start).date().isoformat()
    appointment_id = await create_request(
        client, preferred_windows=[{"date": day, "part_of_day": "any"}], **changes
    )
    response = await confirm(client, desk, appointment_id, start=start)
    assert response.status_code == 200, response.text
    return appointment_id


def move_to(clock: FrozenClock, moment: dt.datetime) -> None:
    clock.advance(moment - clock.now())


def reminders(emails: list[EmailMessage]) -> list[EmailMessage]:
    return [e for e in emails if e["Subject"] == "Reminder: your appointment at Spine Practice"]


# The clocks go back on Sunday 1 November 2026 and forward on Sunday 14 March 2027 in Chicago.
ACROSS_DST = [
    pytest.param(
        dt.datetime(2026, 10, 28, 14, 0, tzinfo=dt.UTC),
        "2026-11-02T09:00:00-06:00",  # Monday 09:00 CST, the day after the clocks went back
        "Monday 2 November 2026, 9:00 AM CST",
        id="autumn",
    ),
    pytest.param(
        dt.datetime(2027, 3, 9, 14, 0, tzinfo=dt.UTC),
        "2027-03-15T09:00:00-05:00",  # Monday 09:00 CDT, the day after the clocks went forward
        "Monday 15 March 2027, 9:00 AM CDT",
        id="spring",
    ),
]


@pytest.mark.parametrize(("today", "start", "shown"), ACROSS_DST)
async def test_reminders_come_48_and_2_real_hours_before_across_a_change_of_the_clocks(
    client: httpx.AsyncClient,
    app: FastAPI,
    desk_account: Any,
    clock: FrozenClock,
    jobs: Jobs,
    today: dt.datetime,
    start: str,
    shown: str,
) -> None:
    move_to(clock, today)
    await book(client, bearer(app, desk_account), start)
    await jobs.deliver()
    visit = dt.datetime.fromisoformat(start)

    move_to(clock, visit - 48 * HOUR - MINUTE)  # by the wall clock 47 or 49 hours before
    assert await jobs.tick() == []
    clock.advance(MINUTE)
    [first] = await jobs.tick()
    assert reminders([first]) == [first]
    assert first["To"] == PATIENT

    clock.advance(HOUR)
    assert await jobs.tick() == []  # once per visit time
    move_to(clock, visit - 2 * HOUR - MINUTE)
    assert await jobs.tick() == []
    clock.advance(MINUTE)
    [second] = reminders(await jobs.tick())
    move_to(clock, visit - MINUTE)
    assert await jobs.tick() == []

    for email in (first, second):
        text, html = parts(email)["text"], parts(email)["html"]
        assert shown in text
        assert "America/Chicago" in text
        assert shown in html
        assert manage_token(email)
        assert "Back pain" not in text
        assert "back_pain" not in text
        assert "Ruiz" not in email["Subject"]


async def test_a_reschedule_arms_the_reminders_again_and_a_cancel_disarms_them(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, jobs: Jobs
) -> None:
    appointment_id = await book(client, desk, chicago("2026-12-07", "09:00"))
    await jobs.deliver()
    move_to(clock, dt.datetime.fromisoformat(chicago("2026-12-05", "09:00")))
    assert len(reminders(await jobs.tick())) == 1

    moved = await client.post(
        f"/api/v1/appointments/{appointment_id}/reschedule",
        json={"start": chicago("2026-12-08", "10:00")},
        headers=desk,
    )
    assert moved.status_code == 200, moved.text
    await jobs.deliver()
    assert reminders(await jobs.tick()) == []  # 73 hours before the new time
    move_to(clock, dt.datetime.fromisoformat(chicago("2026-12-06", "10:00")))
    assert len(reminders(await jobs.tick())) == 1  # the new time's 48-hour reminder
    move_to(clock, dt.datetime.fromisoformat(chicago("2026-12-08", "08:00")))
    [second] = reminders(await jobs.tick())  # and its 2-hour one
    assert "Tuesday 8 December 2026, 10:00 AM CST" in parts(second)["text"]

    other = await book(client, desk, chicago("2026-12-09", "09:00"))
    await jobs.deliver()
    cancelled = await client.post(
        f"/api/v1/appointments/{other}/cancel", json={"reason": "Patient phoned"}, headers=desk
    )
    assert cancelled.status_code == 200
    await jobs.deliver()
    for moment in ("2026-12-08T09:00", "2026-12-09T07:00", "2026-12-09T08:59"):
        move_to(clock, dt.datetime.fromisoformat(f"{moment}:00-06:00"))
        assert reminders(await jobs.tick()) == []


async def test_a_visit_booked_inside_a_window_gets_only_the_later_reminders(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, jobs: Jobs
) -> None:
    # Monday 22:00: the desk books Tuesday 08:00, 10 hours ahead (the 48-hour window is open).
    move_to(clock, dt.datetime.fromisoformat(chicago("2026-11-30", "22:00")))
    await book(client, desk, chicago("2026-12-01", "08:00"))  # 10 hours ahead
    await jobs.deliver()

    sent = []
    moment = clock.now()
    while moment < dt.datetime.fromisoformat(chicago("2026-12-01", "08:00")):
        sent += reminders(await jobs.tick())
        clock.advance(15 * MINUTE)
        moment = clock.now()
    [only_one] = sent  # the 2-hour one
    assert only_one["Date"] == "Tue, 01 Dec 2026 12:00:00 +0000"
    assert "Tuesday 1 December 2026, 8:00 AM CST" in parts(only_one)["text"]


async def test_after_an_outage_only_the_latest_due_reminder_is_sent(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, jobs: Jobs
) -> None:
    await book(client, desk, chicago("2026-12-07", "09:00"))
    await jobs.deliver()
    move_to(clock, dt.datetime.fromisoformat(chicago("2026-12-07", "07:30")))  # both are due
    assert len(reminders(await jobs.tick())) == 1
    assert reminders(await jobs.tick()) == []


@pytest.mark.settings(reminder_hours="")
async def test_no_reminders_when_they_are_off(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, jobs: Jobs
) -> None:
    await book(client, desk, chicago("2026-12-07", "09:00"))
    await jobs.deliver()
    for hours_before in (48, 2, 1):
        visit = dt.datetime.fromisoformat(chicago("2026-12-07", "09:00"))
        move_to(clock, visit - hours_before * HOUR)
        assert await jobs.tick() == []
