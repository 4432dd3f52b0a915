"""The waitlist in a real browser: the patient's page lets them ask for an earlier time, a
cancelled visit's time is offered by email, and the offer's page accepts it (no JavaScript
needed; axe finds nothing)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import appointment_request
from tests.servers import next_open_day
from tests.web.conftest import DESK_EMAIL, DESK_PASSWORD
from tests.web.test_pages_in_a_browser import assert_accessible, wait_for_email

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _link(message: Any, path: str) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(rf"http://127\.0\.0\.1:\d+/{path}/\S+", text)
    assert found, text
    return found.group(0)


async def _email_to(mail_dir: Path, subject_part: str, to: str) -> Any:
    """The email with this subject to this address (both patients get a receipt)."""
    for _ in range(150):
        for path in sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []:  # noqa: ASYNC240
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if subject_part in str(message["Subject"]) and message["To"] == to:
                return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no email with {subject_part!r} to {to} arrived")


async def test_an_offer_from_the_email_to_the_accepted_time(
    browser: Any, site: str, mail_dir: Path
) -> None:
    day = next_open_day()
    async with httpx.AsyncClient(base_url=site, timeout=30) as api:
        waiting = appointment_request(
            preferred_windows=[{"date": day, "part_of_day": "any"}],
            patient__email="waiting@example.com",
        )
        assert (await api.post("/api/v1/appointments", json=waiting)).status_code == 201
        leaving = appointment_request(
            preferred_windows=[{"date": day, "part_of_day": "any"}],
            patient__email="leaving@example.com",
        )
        visit = (await api.post("/api/v1/appointments", json=leaving)).json()["id"]
        signed_in = await api.post(
            "/api/v1/auth/token", data={"username": DESK_EMAIL, "password": DESK_PASSWORD}
        )
        desk = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

        # The waiting patient opens their link and asks for an earlier time.
        received = await _email_to(mail_dir, "We received", "waiting@example.com")
        patient = await browser.new_page(viewport={"width": 420, "height": 900})
        manage_url = _link(received, "manage")
        await patient.goto(manage_url)
        await assert_accessible(patient)
        await patient.get_by_label("Offer me an earlier time if one opens").check()
        await patient.get_by_role("button", name="Save this choice").click()
        await patient.get_by_text("We will email you if an earlier time opens.").wait_for()
        await assert_accessible(patient)

        confirmed = await api.post(
            f"/api/v1/appointments/{visit}/confirm",
            json={"start": f"{day}T10:00:00-06:00"},
            headers=desk,
        )
        assert confirmed.status_code == 200, confirmed.text
        cancelled = await api.post(
            f"/api/v1/appointments/{visit}/cancel", json={"reason": "x"}, headers=desk
        )
        assert cancelled.status_code == 200, cancelled.text

    offer = await wait_for_email(mail_dir, "An earlier appointment time")
    assert offer["To"] == "waiting@example.com"
    url = _link(offer, "offer")
    assert "waiting" not in url
    await patient.goto(url)
    assert "10:00" in await patient.locator("#offer-time").inner_text()
    await assert_accessible(patient)
    await patient.get_by_role("button", name="Accept this time").click()
    await patient.get_by_text("This time is yours.").wait_for()
    await assert_accessible(patient)
    await wait_for_email(mail_dir, "is confirmed")

    # Once taken, the link says so and offers nothing to press.
    await patient.goto(url)
    assert await patient.get_by_role("button", name="Accept this time").count() == 0
    await patient.get_by_text("You have accepted this time.").wait_for()

    # Now confirmed, the patient can ask for other days on their page.
    await patient.goto(manage_url)
    await patient.get_by_role("heading", name="Ask for other days").wait_for()
    await assert_accessible(patient)
    await patient.get_by_label("Day 1", exact=True).fill("2026-12-05")  # a Saturday
    await patient.get_by_role("button", name="Ask to move").click()
    await patient.locator("#date_1-error").wait_for()
    await assert_accessible(patient)
    await patient.get_by_label("Day 1", exact=True).fill(day)
    await patient.get_by_role("button", name="Ask to move").click()
    await patient.get_by_text("The practice has your new days").wait_for()
    await assert_accessible(patient)
