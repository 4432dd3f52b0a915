"""The notifiers other than SMTP: console, file, and a plug-in."""

from __future__ import annotations

import email
import email.policy
import io
import re
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.config import Settings
from booking.notifications import notifiers as notifiers_module
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


@pytest.mark.parametrize("fsync", [False, True])
async def test_the_file_notifier_writes_one_complete_eml_per_message(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    clock: FrozenClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fsync: bool,
) -> None:
    synced: list[int] = []
    monkeypatch.setattr(notifiers_module.os, "fsync", synced.append)
    await create_request(client)
    folder = tmp_path / "mail"
    await drain_with(app, settings, clock, FileNotifier(folder, fsync=fsync))
    assert len(synced) == (2 if fsync else 0)  # BOOKING_MAIL_FSYNC: only when asked
    files = sorted(folder.iterdir())
    assert [path.suffix for path in files] == [".eml", ".eml"]  # no temporary files left
    parsed = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files
    ]
    assert {message["To"] for message in parsed} == {"ana.ruiz@example.com", "desk@spine.example"}
    assert all(
        message["Message-ID"].strip("<>") + ".eml" in {p.name for p in files} for message in parsed
    )


async def test_the_console_notifier_prints_each_email_with_its_links(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, clock: FrozenClock
) -> None:
    # Development's default notifier: a newcomer reads the email and clicks through.
    await create_request(client)
    stream = io.StringIO()
    await drain_with(app, settings, clock, ConsoleNotifier(stream))
    printed = stream.getvalue()
    blocks = printed.split("-" * 79 + "\n")[1:]
    assert len(blocks) == 2
    [patient] = [block for block in blocks if "To: ana.ruiz@example.com" in block]
    assert "From: Spine Practice <booking@spine.example>" in patient
    assert "Subject: We received your appointment request (" in patient
    assert "Hello Ana," in patient
    assert re.search(r"https://book\.spine\.example/manage/[A-Za-z0-9_-]{40,}\n", patient)
    assert "=\n" not in patient  # decoded text, not quoted-printable: the links stay whole


def test_the_console_notifier_names_attachments_instead_of_printing_them() -> None:
    message = EmailMessage()
    message["Subject"] = "s"
    message.set_content("Hello")
    message.add_alternative("<p>Hello</p>", subtype="html")
    message.add_attachment("BEGIN:VCALENDAR", subtype="calendar", filename="appointment.ics")
    printed = ConsoleNotifier.render(message)
    assert printed.endswith("Hello\n[attachment: appointment.ics (text/calendar)]")
    assert "<p>" not in printed


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
