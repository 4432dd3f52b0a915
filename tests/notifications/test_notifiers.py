"""The notifiers other than SMTP: console, file, and a plug-in."""

from __future__ import annotations

import email
import email.policy
import io
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.config import Settings
from booking.notifications.notifiers import ConsoleNotifier, FileNotifier, load_notifier
from booking.notifications.relay import Relay
from tests.helpers import create_request
from tests.notifications import plugin


async def drain_with(app: FastAPI, settings: Settings, clock: FrozenClock, notifier: object) -> int:
    async with httpx.AsyncClient() as http:
        relay = Relay(
            sessionmaker=app.state.sessionmaker,
            settings=settings,
            clock=clock,
            notifier=notifier,  # type: ignore[arg-type]
            http=http,
        )
        return await relay.drain()


async def test_the_file_notifier_writes_one_complete_eml_per_message(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    await create_request(client)
    folder = tmp_path / "mail"
    await drain_with(app, settings, clock, FileNotifier(folder))
    files = sorted(folder.iterdir())
    assert [path.suffix for path in files] == [".eml", ".eml"]  # no temporary files left
    parsed = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files
    ]
    assert {message["To"] for message in parsed} == {"ana.ruiz@example.com", "desk@spine.example"}
    assert all(
        message["Message-ID"].strip("<>") + ".eml" in {p.name for p in files} for message in parsed
    )


async def test_the_console_notifier_prints_a_line_without_the_recipient(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, clock: FrozenClock
) -> None:
    await create_request(client)
    stream = io.StringIO()
    await drain_with(app, settings, clock, ConsoleNotifier(stream))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert all(line.startswith("email <") for line in lines)
    assert "ana.ruiz" not in stream.getvalue()
    assert "Ana" not in stream.getvalue()


async def test_a_plug_in_is_loaded_from_package_module_factory(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, clock: FrozenClock
) -> None:
    plugin.SENT.clear()
    notifier = load_notifier(
        settings.model_copy(update={"notifier": "tests.notifications.plugin:make_notifier"})
    )
    assert isinstance(notifier, plugin.ListNotifier)
    await create_request(client)
    await drain_with(app, settings, clock, notifier)
    assert len(plugin.SENT) == 2
    assert notifier.closed >= 1


@pytest.mark.parametrize("choice", ["nonsense", "tests.notifications.plugin:SENT"])
def test_a_bad_notifier_setting_is_refused(settings: Settings, choice: str) -> None:
    with pytest.raises((ValueError, TypeError)):
        load_notifier(settings.model_copy(update={"notifier": choice}))
