from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.config import Settings
from booking.notifications.notifiers import load_notifier
from booking.notifications.relay import Relay
from tests.notifications.helpers import RelayNamed
from tests.notifications.smtp import SmtpServer
from tests.settings import make_settings


@pytest.fixture
def settings(database_url: str, smtp_server: SmtpServer) -> Settings:
    return make_settings(
        database_url,
        notifier="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_timeout_seconds=5,
        mail_from="booking@spine.example",
        front_desk_email="desk@spine.example",
        practice_name="Spine Practice",
        public_base_url="https://book.spine.example",
    )


@pytest.fixture
async def relay_http() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client the relays of a test post webhooks with."""
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


@pytest.fixture
def relay_named(
    app: FastAPI, settings: Settings, clock: FrozenClock, relay_http: httpx.AsyncClient
) -> RelayNamed:
    """``relay_named(name, settings=..., notifier=...)``: a relay on the app's database, as
    another worker process would run it; by default with the test's settings and their
    notifier."""

    def make(name: str, *, settings: Settings = settings, notifier: Any = None) -> Relay:
        return Relay(
            sessionmaker=app.state.sessionmaker,
            settings=settings,
            clock=clock,
            notifier=load_notifier(settings) if notifier is None else notifier,
            http=relay_http,
            worker_id=name,
        )

    return make


@pytest.fixture
def relay(relay_named: RelayNamed) -> Relay:
    return relay_named("relay-a")
