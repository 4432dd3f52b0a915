"""A cancelled visit's time, offered to the waitlisted patients it fits; the first to accept
gets it."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.notifications.emails import build_email
from booking.waitlist.links import offer_token
from tests.factories import OPEN_DAY
from tests.helpers import assert_problem, chicago, confirm, create_request
from tests.waitlist.helpers import (
    cancelled_visit,
    offer_for,
    offers,
    outbox_events,
    token_for,
    waitlisted,
)

LATER_DAY = "2026-12-09"


async def test_a_cancelled_visit_is_offered_only_to_the_waitlisted_patients_it_fits(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    fits = await waitlisted(client, "fits@example.com")
    await create_request(client, patient__email="not-waiting@example.com")
    afternoon = await waitlisted(
        client,
        "afternoon@example.com",
        preferred_windows=[{"date": OPEN_DAY, "part_of_day": "afternoon"}],
    )
    too_long = await waitlisted(client, "long@example.com", reason_code="mood_related_pain")
    other_day = await waitlisted(
        client, "other-day@example.com", preferred_windows=[{"date": LATER_DAY}]
    )
    later_visit = await waitlisted(client, "later@example.com")
    await confirm(client, desk, later_visit, start=chicago(LATER_DAY, "10:00"))

    freed = await cancelled_visit(client, desk, "09:00")

    offered = {str(o.appointment_id) for o in await offers(app)}
    assert offered == {fits, later_visit}
    assert not offered & {afternoon, too_long, other_day, freed}
    history = (await client.get(f"/api/v1/appointments/{fits}/events", headers=desk)).json()
    assert history[-1]["action"] == "offer_sent"
    assert history[-1]["to_status"] == history[-1]["from_status"] == "requested"
    assert history[-1]["source"] == "system"
    emails = [m for m in await outbox_events(app, fits) if m.event == "offer"]
    assert len(emails) == 1


async def test_a_few_at_a_time_urgent_first_then_the_oldest(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str], clock: FrozenClock
) -> None:
    waiting = []
    for n in range(4):
        waiting.append(await waitlisted(client, f"p{n}@example.com"))
        clock.advance(dt.timedelta(minutes=1))
    urgent = await waitlisted(client, "urgent@example.com", urgent_symptoms=["recent_trauma"])
    await cancelled_visit(client, desk)
    offered = {str(o.appointment_id) for o in await offers(app)}
    assert offered == {urgent, waiting[0], waiting[1]}


@pytest.fixture
async def two_offered(client: httpx.AsyncClient, desk: dict[str, str]) -> tuple[str, str]:
    """Two waitlisted patients (first come first), both offered a cancelled 09:00 visit."""
    first = await waitlisted(client, "first@example.com")
    second = await waitlisted(client, "second@example.com")
    await cancelled_visit(client, desk, "09:00")
    return first, second


async def test_the_first_to_accept_gets_the_time_and_the_others_are_told(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str], two_offered: tuple[str, str]
) -> None:
    first, second = two_offered
    token = await token_for(app, first)

    seen = await client.get(f"/api/v1/offers/{token}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["start"] == chicago(OPEN_DAY, "09:00")
    assert seen.json()["can_accept"] is True
    assert "back_pain" not in seen.text
    assert "first@example.com" not in seen.text

    accepted = await client.post(f"/api/v1/offers/{token}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "confirmed"
    assert accepted.json()["start"] == chicago(OPEN_DAY, "09:00")
    history = (await client.get(f"/api/v1/appointments/{first}/events", headers=desk)).json()
    assert history[-1]["action"] == "confirmed"
    assert history[-1]["source"] == "patient"
    assert history[-1]["details"]["offer_id"] == str((await offer_for(app, first)).id)

    late = await client.post(f"/api/v1/offers/{await token_for(app, second)}/accept")
    assert assert_problem(late, 409)["type"].endswith("/offer-taken")
    theirs = (await client.get(f"/api/v1/appointments/{second}/events", headers=desk)).json()
    assert theirs[-1]["action"] == "offer_gone"
    assert theirs[-1]["to_status"] == "requested"
    assert [m.event for m in await outbox_events(app, second)][-1] == "offer_gone"
    assert (await client.get(f"/api/v1/offers/{token}")).json()["status"] == "accepted"


async def test_a_confirmed_patient_is_moved_to_the_earlier_time(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    patient = await waitlisted(client, "moving@example.com")
    await confirm(client, desk, patient, start=chicago(LATER_DAY, "10:00"))
    await cancelled_visit(client, desk, "09:00")

    accepted = await client.post(f"/api/v1/offers/{await token_for(app, patient)}/accept")

    assert accepted.status_code == 200, accepted.text
    detail = (await client.get(f"/api/v1/appointments/{patient}", headers=desk)).json()
    assert detail["status"] == "confirmed"
    assert detail["start"] == chicago(OPEN_DAY, "09:00")
    assert detail["duration_minutes"] == 30


async def test_two_patients_accepting_at_once_one_wins(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    patients = [await waitlisted(client, f"racer{n}@example.com") for n in range(3)]
    await cancelled_visit(client, desk)
    tokens = [await token_for(app, patient) for patient in patients]

    responses = await asyncio.gather(
        *(client.post(f"/api/v1/offers/{token}/accept") for token in tokens * 2)
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 5, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"].endswith("/offer-taken")
    confirmed = [
        p
        for p in patients
        if (await client.get(f"/api/v1/appointments/{p}", headers=desk)).json()["status"]
        == "confirmed"
    ]
    assert len(confirmed) == 1


async def test_hostile_and_unknown_tokens_are_404_problems(client: httpx.AsyncClient) -> None:
    for token in ("x", "a" * 100, "%00", "../../etc", "'; drop table offers; --"):
        for response in (
            await client.get(f"/api/v1/offers/{token}"),
            await client.post(f"/api/v1/offers/{token}/accept"),
        ):
            assert response.status_code in (404, 422), response.text
            body = assert_problem(response, response.status_code)
            assert "drop table" not in response.text
            if response.status_code == 404:
                # A path the router does not match is a plain 404 problem.
                assert body["type"].endswith("/offer-invalid") or "/" in token
    too_long = await client.get(f"/api/v1/offers/{'a' * 101}")
    assert_problem(too_long, 422)


async def test_offer_emails_carry_the_link_and_no_personal_or_health_data(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    patient = await waitlisted(
        client,
        "private@example.com",
        reason_code="mood_related_pain",
        preferred_windows=[{"date": OPEN_DAY, "part_of_day": "any"}],
    )
    await cancelled_visit(client, desk, "09:00")
    # mood_related_pain needs 60 minutes: a 30-minute visit is not offered; a 60-minute one is.
    assert await offers(app) == []
    other = await create_request(client, patient__email="leaving2@example.com")
    await confirm(client, desk, other, start=chicago(OPEN_DAY, "13:00"), duration_minutes=60)
    await client.post(f"/api/v1/appointments/{other}/cancel", json={"reason": "x"}, headers=desk)
    offer = await offer_for(app, patient)
    settings = app.state.settings
    (message,) = [m for m in await outbox_events(app, patient) if m.event == "offer"]
    email = build_email(message, settings=settings, manage_url=None)
    text = "".join(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in email.walk()
        if not part.is_multipart()
    )
    assert offer_token(offer.id, settings) in text
    assert "private@example.com" not in str(email["Subject"])
    assert "Ana" not in str(email["Subject"])
    for secret in ("mood", "Mood", "depression", "back_pain"):
        assert secret not in text
    webhooks = [m for m in await outbox_events(app, patient) if m.channel == "webhook"]
    for hook in webhooks:
        assert "private@example.com" not in str(hook.payload)


async def test_an_offer_to_a_patient_whose_request_ended_is_withdrawn(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    patient = await waitlisted(client, "gone@example.com")
    await cancelled_visit(client, desk, "09:00")
    token = await token_for(app, patient)
    declined = await client.post(
        f"/api/v1/appointments/{patient}/decline", json={"reason": "x"}, headers=desk
    )
    assert declined.status_code == 200, declined.text

    seen = await client.get(f"/api/v1/offers/{token}")
    assert seen.json()["status"] == "withdrawn"
    assert seen.json()["can_accept"] is False
    refused = await client.post(f"/api/v1/offers/{token}/accept")
    assert assert_problem(refused, 409)["type"].endswith("/offer-withdrawn")


async def test_a_patient_who_left_the_waitlist_is_not_told_the_time_is_gone(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str], two_offered: tuple[str, str]
) -> None:
    first, left = two_offered
    declined = await client.post(
        f"/api/v1/appointments/{left}/decline", json={"reason": "x"}, headers=desk
    )
    assert declined.status_code == 200, declined.text
    told_before = [m.event for m in await outbox_events(app, left)]

    accepted = await client.post(f"/api/v1/offers/{await token_for(app, first)}/accept")
    assert accepted.status_code == 200, accepted.text

    assert [m.event for m in await outbox_events(app, left)] == told_before
    history = (await client.get(f"/api/v1/appointments/{left}/events", headers=desk)).json()
    assert history[-1]["action"] == "declined"
    assert (await client.get(f"/api/v1/offers/{await token_for(app, left)}")).json()[
        "status"
    ] == "withdrawn"


async def test_a_time_the_desk_gave_away_meanwhile_is_taken(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    patient = await waitlisted(client, "slow@example.com")
    await cancelled_visit(client, desk, "09:00")
    walk_in = await create_request(client, patient__email="walk-in@example.com")
    assert (
        await confirm(client, desk, walk_in, start=chicago(OPEN_DAY, "09:00"))
    ).status_code == 200

    refused = await client.post(f"/api/v1/offers/{await token_for(app, patient)}/accept")

    assert assert_problem(refused, 409)["type"].endswith("/offer-taken")
    detail = (await client.get(f"/api/v1/appointments/{patient}", headers=desk)).json()
    assert detail["status"] == "requested"


async def test_the_page_says_why_an_accept_failed_and_never_errs(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    winner = await waitlisted(client, "winner@example.com")
    declined = await waitlisted(client, "declined@example.com")
    loser = await waitlisted(client, "loser@example.com")
    await cancelled_visit(client, desk, "09:00")
    await client.post(
        f"/api/v1/appointments/{declined}/decline", json={"reason": "x"}, headers=desk
    )

    page = await client.get(f"/offer/{await token_for(app, winner)}")
    assert page.status_code == 200
    assert "Accept this time" in page.text
    assert "winner@example.com" not in page.text
    # One clock for the start and the end (the visit is 30 minutes from 9 o'clock).
    assert re.search(r'id="offer-time">[^<]*, 9:00 AM CST \u2013 9:30 AM<', page.text), page.text
    won = await client.post(f"/offer/{await token_for(app, winner)}/accept")
    assert won.status_code == 200
    assert "This time is yours." in won.text

    for patient in (declined, loser):
        refused = await client.post(f"/offer/{await token_for(app, patient)}/accept")
        assert refused.status_code == 409, refused.text
        assert "Accept this time" not in refused.text
    assert (await client.get("/offer/nonsense")).status_code == 404
