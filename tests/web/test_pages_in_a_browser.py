"""The whole story in a real browser: a patient books, the desk confirms, the email arrives,
the patient cancels through the link, the desk sees it. Plus the ways it must not go wrong."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import expect

from tests.servers import booking_env, next_open_day
from tests.staff.helpers import create_staff_with_cli
from tests.web.conftest import DESK_EMAIL, DESK_PASSWORD, SLOW_FORM_MIN_FILL_SECONDS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ADMIN_EMAIL = "admin@practice.example"

UNLABELLED_FIELDS = """() => [...document.querySelectorAll(
    'input:not([type=hidden]):not([tabindex="-1"]), select, textarea')]
    .filter(field => field.labels.length === 0).map(field => field.name)"""


PAGE_WIDTHS = "[document.documentElement.scrollWidth, window.innerWidth]"


async def assert_accessible(page: Any) -> None:
    """axe-core's checks (WCAG and best practice) find nothing on the page as it is now."""
    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


async def book(page: Any, site: str, *, first_name: str = "Ana", day: str | None = None) -> str:
    await page.goto(site + "/book")
    await page.get_by_label("First name").fill(first_name)
    await page.get_by_label("Last name").fill("Ruiz")
    await page.get_by_label("Email", exact=True).fill("ana.ruiz@example.com")
    await page.get_by_label("Phone", exact=True).fill("(312) 555-0142")
    await page.get_by_label("Reason", exact=True).select_option("back_pain")
    await page.get_by_label("Day 1", exact=True).fill(day or next_open_day())
    await page.get_by_label("I agree that the practice stores this request").check()
    await page.get_by_role("button", name="Send my request").click()
    await page.get_by_role("heading", name="Thank you: we have your request").wait_for()
    return str(await page.locator("#reference").inner_text())


async def sign_in(page: Any, site: str, password: str = DESK_PASSWORD) -> None:
    await page.goto(site + "/desk/login")
    await page.get_by_label("Email", exact=True).fill(DESK_EMAIL)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def open_request(page: Any, site: str, reference: str, status: str = "Open") -> None:
    await page.goto(site + "/desk")
    await page.get_by_label("Search", exact=True).fill(reference)
    await page.get_by_label("Status", exact=True).select_option(label=status)
    await page.get_by_role("button", name="Show").click()
    await page.get_by_role("link", name=reference).wait_for()
    assert reference not in page.url  # searches travel in a POST body, never in the address
    await page.get_by_role("link", name=reference).click()
    await page.get_by_role("heading", name=re.compile(reference)).wait_for()


async def confirm(page: Any, day: str, time_of_day: str) -> None:
    await page.get_by_label("Date", exact=True).fill(day)
    await page.get_by_label("Start time").fill(time_of_day)
    await page.get_by_role("button", name="Confirm", exact=True).click()


async def wait_for_email(
    mail_dir: Path, subject_part: str, within_seconds: float = 15
) -> email.message.EmailMessage:
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []:  # noqa: ASYNC240
            raw = path.read_bytes()
            message = email.message_from_bytes(raw, policy=email.policy.default)
            if subject_part in str(message["Subject"]):
                return message  # type: ignore[return-value]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no email with {subject_part!r} arrived")


async def test_a_day_at_the_desk_from_booking_to_cancellation(
    browser: Any, site: str, mail_dir: Path, screenshots: Path
) -> None:
    patient = await browser.new_page(viewport={"width": 420, "height": 900})  # a phone
    await patient.goto(site + "/book")
    assert await patient.evaluate(UNLABELLED_FIELDS) == []
    await patient.screenshot(path=str(screenshots / "book.png"), full_page=True)
    reference = await book(patient, site)

    desk_context = await browser.new_context(viewport={"width": 1280, "height": 900})
    desk = await desk_context.new_page()
    await sign_in(desk, site, password="not the password")
    assert await desk.get_by_text("Wrong email or password.").is_visible()
    await sign_in(desk, site)
    await desk.get_by_role("heading", name="Requests").wait_for()
    await open_request(desk, site, reference)
    assert await desk.evaluate(UNLABELLED_FIELDS) == []
    day = next_open_day()
    await confirm(desk, day, "10:00")
    await desk.get_by_text("Confirmed. The patient gets an email").wait_for()
    assert await desk.locator("#status").inner_text() == "Confirmed"
    await desk.goto(site + "/desk")
    await desk.screenshot(path=str(screenshots / "desk.png"), full_page=True)

    confirmation = await wait_for_email(mail_dir, "is confirmed")
    text = confirmation.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"http://127\.0\.0\.1:\d+/manage/\S+", text)
    assert link, text
    await patient.goto(link.group(0))
    assert await patient.locator("#status").inner_text() == "Confirmed"
    await patient.screenshot(path=str(screenshots / "manage.png"), full_page=True)
    await patient.get_by_role("link", name="Cancel this appointment").click()
    await patient.get_by_role("heading", name="Cancel this appointment?").wait_for()
    await patient.get_by_role("button", name="Yes, cancel it").click()
    await patient.get_by_text("Your appointment is cancelled.").wait_for()
    assert await patient.locator("#status").inner_text() == "Cancelled"

    await open_request(desk, site, reference, status="All")  # closed: not listed by default
    assert await desk.locator("#status").inner_text() == "Cancelled"
    history = await desk.locator("table").last.inner_text()
    assert "cancelled (confirmed → cancelled)" in history
    assert "patient" in history


async def test_a_slot_clash_is_shown_next_to_the_form_with_what_was_typed(
    browser: Any, site: str
) -> None:
    patient = await browser.new_page()
    first = await book(patient, site, first_name="First")
    second = await book(patient, site, first_name="Second")
    desk = await browser.new_page()
    await sign_in(desk, site)
    day = next_open_day()
    await open_request(desk, site, first)
    await confirm(desk, day, "11:00")
    await desk.get_by_text("Confirmed.").wait_for()

    await open_request(desk, site, second)
    await confirm(desk, day, "11:15")

    error = desk.get_by_role("alert").filter(has_text="overlaps")
    await error.wait_for()
    assert await desk.get_by_label("Date", exact=True).input_value() == day
    assert await desk.get_by_label("Start time").input_value() == "11:15"
    assert await desk.locator("#status").inner_text() == "Requested"


async def test_a_post_without_the_csrf_token_is_refused(browser: Any, site: str) -> None:
    page = await browser.new_page()
    reference = await book(page, site)
    desk_context = await browser.new_context()
    desk = await desk_context.new_page()
    await sign_in(desk, site)
    await open_request(desk, site, reference)
    detail_url = desk.url
    cookies = {cookie["name"]: cookie["value"] for cookie in await desk_context.cookies()}

    async with httpx.AsyncClient(base_url=site, cookies=cookies) as client:
        forged = await client.post(
            detail_url.removeprefix(site) + "/decline", data={"reason": "forged"}
        )
        wrong = await client.post(
            detail_url.removeprefix(site) + "/decline",
            data={"reason": "forged", "csrf_token": "guess"},
        )
    assert forged.status_code == 403
    assert wrong.status_code == 403
    await desk.reload()
    assert await desk.locator("#status").inner_text() == "Requested"


async def test_the_hosted_form_keeps_what_was_typed_and_marks_each_bad_field(
    browser: Any, site: str
) -> None:
    page = await browser.new_page()
    await page.goto(site + "/book")
    await page.get_by_label("First name").fill("Ana")
    await page.get_by_label("Email", exact=True).fill("not-an-email")
    await page.get_by_role("button", name="Send my request").click()
    await page.get_by_text("Please check the fields marked below.").wait_for()
    assert await page.get_by_label("First name").input_value() == "Ana"
    assert await page.get_by_label("Email", exact=True).input_value() == "not-an-email"
    assert (
        await page.locator("#email-error").inner_text()
        == "Enter an email address like name@example.com."
    )
    assert await page.locator("#last_name-error").is_visible()
    assert await page.locator("#consent-error").is_visible()
    assert await page.get_by_label("Email", exact=True).get_attribute("aria-invalid") == "true"


async def test_a_patient_who_ticks_the_forgotten_box_and_sends_at_once_is_stored(
    browser: Any, slow_form_site: str
) -> None:
    site = slow_form_site
    page = await browser.new_page()
    await page.goto(site + "/book")
    await page.get_by_label("First name").fill("Ana")
    await page.get_by_label("Last name").fill("Ruiz")
    await page.get_by_label("Email", exact=True).fill("ana.ruiz@example.com")
    await page.get_by_label("Phone", exact=True).fill("(312) 555-0142")
    await page.get_by_label("Reason", exact=True).select_option("back_pain")
    await page.get_by_label("Day 1", exact=True).fill(next_open_day())
    await asyncio.sleep(SLOW_FORM_MIN_FILL_SECONDS + 0.5)
    await page.get_by_role("button", name="Send my request").click()

    # The error summary takes the focus and links to the field at fault.
    summary = page.locator("#error-summary")
    await summary.wait_for()
    await expect(summary).to_be_focused()
    consent_link = summary.get_by_role("link", name="Please agree, so that we may store")
    assert await consent_link.get_attribute("href") == "#consent"

    await page.get_by_label("I agree that the practice stores this request").check()
    await page.get_by_role("button", name="Send my request").click()

    await page.get_by_role("heading", name="Thank you: we have your request").wait_for()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", await page.locator("#reference").inner_text())


async def test_on_a_phone_the_board_reads_as_cards_not_a_wide_table(
    browser: Any, site: str, screenshots: Path
) -> None:
    patient = await browser.new_page()
    reference = await book(patient, site)
    phone = await browser.new_page(viewport={"width": 375, "height": 800})
    await sign_in(phone, site)
    await phone.get_by_role("heading", name="Requests").wait_for()
    await phone.wait_for_load_state()  # the stylesheet too: a page without it is wider

    scroll_width, screen_width = await phone.evaluate(PAGE_WIDTHS)
    assert scroll_width <= screen_width  # nothing to scroll sideways
    card = phone.locator("table.board tbody tr").first
    assert await card.evaluate("row => getComputedStyle(row).display") == "block"
    box = await card.bounding_box()
    assert box["width"] <= screen_width
    labels = await card.locator("td[data-label]").evaluate_all(
        "cells => cells.map(cell => getComputedStyle(cell, '::before').content)"
    )
    assert any("Preferred" in label for label in labels), labels
    assert await card.get_by_role("link", name=reference).is_visible()
    call = card.get_by_role("link", name="(312) 555-0142")
    assert await call.get_attribute("href") == "tel:+13125550142"
    # Still a table to a screen reader: its rows and column headings are there.
    assert await phone.get_by_role("columnheader", name="Patient").count() == 1
    await assert_accessible(phone)
    await phone.screenshot(path=str(screenshots / "desk-phone.png"), full_page=True)

    await card.get_by_role("link", name=reference).click()
    await phone.get_by_role("heading", name=re.compile(reference)).wait_for()
    await phone.wait_for_load_state()
    scroll_width, screen_width = await phone.evaluate(PAGE_WIDTHS)
    assert scroll_width <= screen_width
    await assert_accessible(phone)


async def test_on_a_wide_screen_the_board_is_a_table_and_accessible(
    browser: Any, site: str
) -> None:
    patient = await browser.new_page()
    await book(patient, site)
    desk = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(desk, site)
    await desk.get_by_role("heading", name="Requests").wait_for()
    await desk.wait_for_load_state()
    row = desk.locator("table.board tbody tr").first
    assert await row.evaluate("row => getComputedStyle(row).display") == "table-row"
    await assert_accessible(desk)


async def test_back_after_filtering_shows_the_filtered_board_and_no_url_holds_the_search(
    browser: Any, site: str
) -> None:
    patient = await browser.new_page()
    wanted = await book(patient, site, first_name="Wanda")
    other = await book(patient, site, first_name="Otto")
    desk = await browser.new_page()
    addresses: list[str] = []
    desk.on("request", lambda request: addresses.append(request.url))
    await sign_in(desk, site)
    await desk.get_by_role("heading", name="Requests").wait_for()

    await desk.get_by_label("Search", exact=True).fill("Wanda")
    await desk.get_by_role("button", name="Show").click()
    await desk.get_by_role("link", name=wanted).wait_for()
    assert await desk.get_by_role("link", name=other).count() == 0
    assert desk.url == site + "/desk"
    await desk.get_by_role("link", name=wanted).click()
    await desk.get_by_role("heading", name=re.compile(wanted)).wait_for()

    # Back: the board again, filtered, fetched with a GET (no "Confirm form resubmission").
    response = await desk.go_back()
    assert response is not None
    assert response.request.method == "GET"
    assert response.status == 200
    await desk.get_by_role("link", name=wanted).wait_for()
    assert await desk.get_by_role("link", name=other).count() == 0
    assert await desk.get_by_label("Search", exact=True).input_value() == "Wanda"
    reloaded = await desk.reload()
    assert reloaded is not None
    assert reloaded.request.method == "GET"
    assert await desk.get_by_label("Search", exact=True).input_value() == "Wanda"
    await assert_accessible(desk)

    assert addresses
    assert all("Wanda" not in address for address in addresses)
    cookies = await desk.context.cookies()
    assert all("Wanda" not in cookie["value"] for cookie in cookies)


async def test_an_urgent_request_is_booked_with_one_click_and_found_in_the_diary(
    browser: Any, site: str, screenshots: Path
) -> None:
    """The receptionist opens an urgent request, sees times inside the patient's preferred
    afternoon, confirms one with a single click, and finds the visit in that day's diary."""
    from tests.factories import appointment_request

    day = next_open_day()
    async with httpx.AsyncClient(base_url=site) as website:
        created = await website.post(
            "/api/v1/appointments",
            json=appointment_request(
                urgent_symptoms=["worsening_leg_weakness"],
                preferred_windows=[{"date": day, "part_of_day": "afternoon"}],
            ),
        )
    assert created.status_code == 201, created.text
    reference = created.json()["reference"]

    desk = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(desk, site)
    await desk.get_by_role("heading", name="Requests").wait_for()
    await open_request(desk, site, reference)
    await expect(desk.locator("h1 .badge.urgent")).to_have_text("Urgent")
    suggested = desk.locator("ul.suggestions li")
    assert await suggested.count() > 0
    preferred = f"{dt.date.fromisoformat(day):%a %-d %b}, afternoon"
    for text in await suggested.all_inner_texts():
        assert preferred in text, text
    await assert_accessible(desk)
    await desk.screenshot(path=str(screenshots / "desk-suggestions.png"), full_page=True)

    choice = desk.locator("ul.suggestions button").first
    label = await choice.inner_text()  # "Confirm: Mon 7 Dec, 12:00 PM CST"
    starts = label.rsplit(", ", 1)[1].rsplit(" ", 1)[0]  # "12:00 PM"
    await choice.click()
    await desk.get_by_text("Confirmed. The patient gets an email").wait_for()
    assert await desk.locator("#status").inner_text() == "Confirmed"
    assert starts in await desk.locator("#visit").inner_text()

    await desk.get_by_role("link", name="Diary").click()
    await desk.get_by_role("heading", name="Diary").wait_for()
    await desk.get_by_label("Date", exact=True).fill(day)
    await desk.get_by_label("View", exact=True).select_option("day")
    await desk.get_by_role("button", name="Show").click()
    visit = desk.locator("li.visit", has_text=reference)
    await visit.wait_for()
    text = await visit.inner_text()
    assert text.startswith(starts), text
    assert "Urgent" in text
    assert "free" in await desk.locator("ol.diary").inner_text()
    await assert_accessible(desk)

    phone = await browser.new_page(viewport={"width": 375, "height": 800})
    await sign_in(phone, site)
    await phone.get_by_role("heading", name="Requests").wait_for()
    await phone.goto(desk.url)
    await phone.wait_for_load_state()
    scroll_width, screen_width = await phone.evaluate(PAGE_WIDTHS)
    assert scroll_width <= screen_width  # nothing to scroll sideways
    await assert_accessible(phone)
    await phone.screenshot(path=str(screenshots / "desk-diary-phone.png"), full_page=True)
    await phone.get_by_role("link", name=reference).click()
    await phone.get_by_role("heading", name=re.compile(reference)).wait_for()


async def test_an_admin_sets_a_lunch_break_and_a_day_off_on_a_phone(
    browser: Any, site: str, database_url: str, tmp_path: Path, screenshots: Path
) -> None:
    create_staff_with_cli(
        booking_env(database_url),
        tmp_path,
        ADMIN_EMAIL,
        "--role",
        "admin",
        "--name",
        "Ada Admin",
        password=DESK_PASSWORD,
    )
    phone = await browser.new_page(viewport={"width": 375, "height": 800})
    await phone.goto(site + "/desk/login")
    await phone.get_by_label("Email", exact=True).fill(ADMIN_EMAIL)
    await phone.get_by_label("Password", exact=True).fill(DESK_PASSWORD)
    await phone.get_by_role("button", name="Sign in").click()
    await phone.get_by_role("heading", name="Requests").wait_for()
    await phone.get_by_role("link", name="Providers").click()
    await phone.get_by_role("link", name=re.compile("hours and time off")).first.click()
    await phone.get_by_role("heading", name="Weekly hours").wait_for()
    await phone.wait_for_load_state()
    assert "practice's default opening hours" in await phone.locator("main").inner_text()
    assert await phone.evaluate(UNLABELLED_FIELDS) == []
    await assert_accessible(phone)

    await phone.get_by_label("Monday").fill("08:00-12:00, 13:00-17:00")
    await phone.get_by_role("button", name="Save weekly hours").click()
    await expect(phone.get_by_role("status")).to_have_text("Working hours saved.")
    await expect(phone.get_by_label("Monday")).to_have_value("08:00-12:00, 13:00-17:00")

    day_off = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    await phone.get_by_label("First day").fill(day_off)
    await phone.get_by_label("Last day").fill(day_off)
    await phone.get_by_label(re.compile("^Reason")).fill("Training day")
    await phone.get_by_role("button", name="Add time off").click()
    await expect(phone.get_by_role("status")).to_have_text("Time off added.")
    await expect(phone.locator("ul.time-off li")).to_contain_text("Training day")
    await phone.wait_for_load_state()
    scroll_width, screen_width = await phone.evaluate(PAGE_WIDTHS)
    assert scroll_width <= screen_width  # nothing to scroll sideways
    await assert_accessible(phone)
    await phone.screenshot(path=str(screenshots / "desk-hours-phone.png"), full_page=True)
