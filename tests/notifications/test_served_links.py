"""Links that work on the first run: with no BOOKING_PUBLIC_BASE_URL, `booking serve` makes the
emailed links follow the port it serves, in every worker process (issue 10, item 6)."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.factories import appointment_request
from tests.servers import next_open_day, running_servers


def read_mail(folder: Path, count: int, within_seconds: float = 20) -> list[EmailMessage]:
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        files = sorted(folder.glob("*.eml")) if folder.exists() else []
        if len(files) >= count:
            return [
                email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
                for path in files
            ]
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} emails arrived in {folder}")


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def test_emailed_links_follow_the_port_served_when_no_base_url_is_set(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    settings = {"notifier": "file", "mail_dir": str(mail), "public_base_url": ""}
    database = f"sqlite:///{tmp_path / 'first-run.db'}"
    # Two worker processes: each imports the app afresh and must learn the address too.
    with running_servers(database, tmp_path, workers=2, **settings) as [base_url]:
        for number in range(4):
            body = appointment_request(
                preferred_windows=[{"date": next_open_day()}],
                patient__email=f"patient{number}@example.com",
            )
            created = httpx.post(base_url + "/api/v1/appointments", json=body, timeout=10)
            assert created.status_code == 201, created.text
        messages = read_mail(mail, 8)
        desk = [text_of(m) for m in messages if m["To"] == "front-desk@localhost"]
        patients = [text_of(m) for m in messages if m["To"] != "front-desk@localhost"]
        links = [re.findall(r"https?://\S+", text) for text in patients]
        assert len(links) == 4
        for [link] in links:
            assert link.startswith(f"{base_url}/manage/"), link
            assert httpx.get(link, timeout=10).status_code == 200
        assert len(desk) == 4
        assert all(f"{base_url}/desk" in text for text in desk)
