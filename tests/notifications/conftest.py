from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.config import Settings
from booking.notifications.notifiers import load_notifier
from booking.notifications.relay import Relay
from tests.notifications.smtp import SmtpServer
from tests.settings import make_settings

WEBHOOK_SECRET = "webhook secret for the tests"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


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
async def relay(app: FastAPI, settings: Settings, clock: FrozenClock) -> AsyncIterator[Relay]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield Relay(
            sessionmaker=app.state.sessionmaker,
            settings=settings,
            clock=clock,
            notifier=load_notifier(settings),
            http=http,
            worker_id="relay-a",
        )
