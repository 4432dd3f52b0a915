from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.config import Settings
from booking.jobs.scheduler import Scheduler
from booking.notifications.notifiers import load_notifier
from booking.notifications.relay import Relay
from tests.notifications.smtp import SmtpServer
from tests.settings import make_settings


@pytest.fixture
def settings(
    database_url: str, smtp_server: SmtpServer, request: pytest.FixtureRequest
) -> Settings:
    """As tests/notifications, with ``@pytest.mark.settings(...)`` changes on top."""
    changed = request.node.get_closest_marker("settings")
    values = {
        "notifier": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_server.port,
        "smtp_timeout_seconds": 5,
        "mail_from": "booking@spine.example",
        "front_desk_email": "desk@spine.example",
        "practice_name": "Spine Practice",
        "practice_phone": "+1 312 555 0100",
        "public_base_url": "https://book.spine.example",
        # Only what a test turns on runs: each test names the jobs it is about.
        "digest_time": "",
    }
    values |= changed.kwargs if changed else {}
    return make_settings(database_url, **values)


@pytest.fixture
async def relay(app: FastAPI, settings: Settings, clock: FrozenClock) -> AsyncIterator[Relay]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield Relay(
            sessionmaker=app.state.sessionmaker,
            settings=settings,
            clock=clock,
            notifier=load_notifier(settings),
            http=http,
            worker_id="relay-test",
        )


@pytest.fixture
def scheduler(app: FastAPI, settings: Settings, clock: FrozenClock) -> Scheduler:
    return Scheduler(
        sessionmaker=app.state.sessionmaker, settings=settings, clock=clock, worker_id="jobs-a"
    )


class Jobs:
    """Tick the scheduler at the clock's time, deliver what it queued, hand back the emails
    that arrived since the last call."""

    def __init__(self, scheduler: Scheduler, relay: Relay, smtp_server: SmtpServer) -> None:
        self.scheduler, self.relay, self.smtp_server = scheduler, relay, smtp_server
        self._seen = 0

    async def deliver(self) -> list[EmailMessage]:
        await self.relay.drain()
        new = self.smtp_server.messages[self._seen :]
        self._seen = len(self.smtp_server.messages)
        return new

    async def tick(self) -> list[EmailMessage]:
        await self.scheduler.tick()
        return await self.deliver()


@pytest.fixture
def jobs(scheduler: Scheduler, relay: Relay, smtp_server: SmtpServer) -> Jobs:
    return Jobs(scheduler, relay, smtp_server)
