"""The front desk's morning digest: counts only, once per practice-local day."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from booking.clock import FrozenClock
from tests.helpers import chicago, confirm, create_request
from tests.jobs.conftest import Jobs
from tests.notifications.helpers import parts

DESK = "desk@spine.example"
FAR_DAY = "2027-01-25"


def move_to(clock: FrozenClock, moment: str) -> None:
    clock.advance(dt.datetime.fromisoformat(moment) - clock.now())


def counts(email: object) -> list[str]:
    text = parts(email)["text"]  # type: ignore[arg-type]
    return [line.strip() for line in text.splitlines() if ": " in line and line.startswith("  ")]


@pytest.mark.settings(digest_time="07:30")
async def test_the_digest_counts_what_waits_and_comes_once_a_day(
    client: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock, jobs: Jobs
) -> None:
    # Sunday 29 November, 12:00 in Chicago: one request waits from the day before.
    move_to(clock, chicago("2026-11-28", "12:00"))
    await create_request(client, preferred_windows=[{"date": FAR_DAY, "part_of_day": "any"}])
    move_to(clock, chicago("2026-11-29", "12:00"))
    urgent = await create_request(
        client,
        patient__first_name="Ursula",
        urgent_symptoms=["fever_with_back_pain"],
        reason_code="mood_related_pain",
        preferred_windows=[{"date": FAR_DAY, "part_of_day": "any"}],
    )
    booked = await create_request(
        client, preferred_windows=[{"date": FAR_DAY, "part_of_day": "any"}]
    )
    assert (
        await confirm(client, desk, booked, start=chicago("2026-11-30", "11:00"))
    ).status_code == 200
    await jobs.deliver()

    move_to(clock, chicago("2026-11-30", "07:29"))
    assert await jobs.tick() == []
    move_to(clock, chicago("2026-11-30", "07:30"))
    [digest] = await jobs.tick()

    assert digest["To"] == DESK
    assert digest["Subject"] == "Front desk digest for 2026-11-30"
    assert counts(digest) == [
        "New requests since the last digest: 2",  # the last 24 hours, before a first digest
        "Urgent requests still waiting: 1",
        "Requests waiting: 2 (the oldest for 1 day, 19 hours)",
        "Visits today: 1",
        "Requests expired since the last digest: 0",
    ]
    text, html = parts(digest)["text"], parts(digest)["html"]
    assert "https://book.spine.example/desk" in text
    assert 'href="https://book.spine.example/desk"' in html
    assert "Monday 30 November 2026" in text
    assert "America/Chicago" in text
    for private in ("Ursula", "Ana", "Ruiz", "ana.ruiz", "mood", "fever", urgent):
        assert private not in text
        assert private not in html
        assert private not in digest["Subject"]

    assert await jobs.tick() == []  # once a day
    move_to(clock, chicago("2026-11-30", "18:00"))
    await create_request(client, preferred_windows=[{"date": FAR_DAY, "part_of_day": "any"}])
    await jobs.deliver()
    assert await jobs.tick() == []

    move_to(clock, chicago("2026-12-01", "07:30"))
    [next_day] = await jobs.tick()
    assert next_day["Subject"] == "Front desk digest for 2026-12-01"
    assert counts(next_day)[0] == "New requests since the last digest: 1"
    assert counts(next_day)[3] == "Visits today: 0"


@pytest.mark.settings(digest_time="07:30")
async def test_a_digest_missed_at_its_time_goes_out_later_that_day_and_counts_the_expired(
    client: httpx.AsyncClient, clock: FrozenClock, jobs: Jobs
) -> None:
    move_to(clock, chicago("2026-11-30", "07:30"))
    assert len(await jobs.tick()) == 1
    await create_request(client, preferred_windows=[{"date": "2026-12-01", "part_of_day": "any"}])
    await jobs.deliver()

    move_to(clock, chicago("2026-12-02", "15:00"))  # 1 December's was never sent (an outage)
    emails = await jobs.tick()
    [digest] = [email for email in emails if email["To"] == DESK]
    assert digest["Subject"] == "Front desk digest for 2026-12-02"
    assert counts(digest)[-1] == "Requests expired since the last digest: 1"


async def test_no_digest_when_it_is_off(clock: FrozenClock, jobs: Jobs) -> None:
    for moment in ("2026-11-30T07:30", "2026-12-01T07:30", "2026-12-01T23:59"):
        move_to(clock, f"{moment}:00-06:00")
        assert await jobs.tick() == []
