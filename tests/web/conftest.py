"""A real headless browser (Debian's chromium, driven by Playwright) against a real server."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.availability.helpers import add_provider
from tests.servers import booking_env, running_servers
from tests.settings import IN_CI
from tests.staff.helpers import create_staff_with_cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DESK_EMAIL = "clerk@practice.example"
DESK_PASSWORD = "a long enough password"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Async Playwright: the sync API would hold an event loop for the whole session, and the
    database fixtures run their own."""
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240
        message = "chromium is not installed (apt-get install chromium): browser tests skipped"
        if IN_CI:
            pytest.fail(message + ", and CI=true requires them", pytrace=False)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def site(database_url: str, tmp_path: Path, mail_dir: Path) -> Iterator[str]:
    """A running `booking serve` with a clerk, writing emails as files; yields its address."""
    yield from _serve(database_url, tmp_path, mail_dir, form_min_fill_seconds="0")


# Long enough to pass a first send (the test waits), too long for a re-send at once.
SLOW_FORM_MIN_FILL_SECONDS = 2


@pytest.fixture
def slow_form_site(database_url: str, tmp_path: Path, mail_dir: Path) -> Iterator[str]:
    """The same, with a minimum fill time on /book that a quick re-send would fall within."""
    yield from _serve(
        database_url, tmp_path, mail_dir, form_min_fill_seconds=str(SLOW_FORM_MIN_FILL_SECONDS)
    )


def _serve(database_url: str, tmp_path: Path, mail_dir: Path, **overrides: str) -> Iterator[str]:
    settings = {"notifier": "file", "mail_dir": str(mail_dir), **overrides}
    create_staff_with_cli(
        booking_env(database_url, **settings),
        tmp_path,
        DESK_EMAIL,
        "--name",
        "Casey Clerk",
        password=DESK_PASSWORD,
    )
    with running_servers(database_url, tmp_path, **settings) as [url]:
        yield url


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """docs/screenshots when BOOKING_SCREENSHOTS=1 (to refresh the README's), else a temp dir."""
    if os.environ.get("BOOKING_SCREENSHOTS") == "1":
        folder = Path(__file__).parents[2] / "docs" / "screenshots"
    else:
        folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def second_provider(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    """The id of a second provider, "Dr Second", added by the admin beside the default one."""
    return await add_provider(client, admin, "Dr Second")
