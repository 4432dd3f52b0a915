"""/docs and /redoc render in a real browser with every other origin out of reach: the
Swagger UI and ReDoc assets are served by booking itself, and the CSP lets them run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.servers import running_servers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def docs_site(tmp_path: Path) -> Iterator[str]:
    """A plain `booking serve`: the docs need no database rows, so SQLite alone."""
    with running_servers(f"sqlite:///{tmp_path / 'docs.db'}", tmp_path) as [url]:
        yield url


async def offline_page(browser: Any, site: str) -> tuple[Any, list[str], list[str]]:
    """A page whose requests to any other origin fail, as on a network without the internet;
    returns it with the lists of blocked requests and CSP/console errors it collects."""
    context = await browser.new_context()
    page = await context.new_page()
    origin = urlsplit(site).netloc
    blocked: list[str] = []
    errors: list[str] = []

    async def only_this_origin(route: Any) -> None:
        if urlsplit(route.request.url).netloc == origin:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    await page.route("**/*", only_this_origin)
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, blocked, errors


async def test_swagger_ui_renders_offline(browser: Any, docs_site: str) -> None:
    page, blocked, errors = await offline_page(browser, docs_site)
    await page.goto(docs_site + "/docs")
    await page.locator(".swagger-ui .info .title").filter(has_text="booking").wait_for()
    await page.locator("#operations-appointments-createAppointment").wait_for()
    await page.locator("#operations-appointments-createAppointment button").first.click()
    await page.get_by_text("Try it out").wait_for()  # the UI is interactive, not just painted
    assert blocked == []
    assert errors == []


async def test_redoc_renders_offline(browser: Any, docs_site: str) -> None:
    page, blocked, errors = await offline_page(browser, docs_site)
    await page.goto(docs_site + "/redoc")
    await page.locator("h1").filter(has_text="booking").wait_for()
    await page.get_by_text("createAppointment", exact=False).first.wait_for(state="attached")
    assert blocked == []
    # ReDoc always shows Redocly's logo from its CDN; the CSP stops it before any request is
    # made (the image hides itself on error). Nothing else may be refused.
    assert [error for error in errors if REDOCLY_LOGO not in error] == []
