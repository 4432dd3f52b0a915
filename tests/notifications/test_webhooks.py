"""Signed webhooks to a real HTTP receiver, which verifies every delivery."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import threading
import uuid
from asyncio.subprocess import PIPE
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from booking.clock import FrozenClock
from booking.config import Settings
from booking.notifications.models import OutboxStatus
from booking.notifications.relay import Relay
from booking.notifications.webhooks import sign, verify_signature
from tests.helpers import chicago, confirm, create_request
from tests.notifications.helpers import outbox
from tests.notifications.smtp import SmtpServer
from tests.servers import free_port
from tests.settings import make_settings

WEBHOOK_SECRET = "webhook secret for the tests"


class Receiver:
    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.answer = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append((dict(self.headers.items()), body))
                self.send_response(receiver.answer)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/booking"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def settings(database_url: str, smtp_server: SmtpServer, receiver: Receiver) -> Settings:
    return make_settings(
        database_url,
        notifier="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        webhook_urls=receiver.url,
        webhook_secret=WEBHOOK_SECRET,
    )


async def test_every_change_is_posted_signed_with_ids_status_and_times_only(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    relay: Relay,
    receiver: Receiver,
    clock: FrozenClock,
) -> None:
    appointment_id = await create_request(client, reason_detail="Zq9 secret detail")
    await confirm(client, desk, appointment_id, start=chicago("2026-12-07", "09:30"))
    await relay.drain()

    assert len(receiver.deliveries) == 2
    events = []
    for headers, body in receiver.deliveries:
        assert verify_signature(
            WEBHOOK_SECRET, headers["Booking-Signature"], body, now=clock.now().timestamp()
        )
        event = json.loads(body)
        assert headers["Booking-Event-Id"] == event["id"]
        events.append(event)
    assert [event["type"] for event in events] == [
        "appointment.requested",
        "appointment.confirmed",
    ]
    # The website's POST and a staff token's confirm both came through the JSON API.
    assert [event["source"] for event in events] == ["api", "api"]
    confirmed = events[1]["data"]
    assert confirmed["appointment_id"] == appointment_id
    assert confirmed["status"] == "confirmed"
    assert confirmed["start"] == "2026-12-07T15:30:00+00:00"
    assert set(confirmed) == {
        "appointment_id",
        "reference",
        "status",
        "version",
        "provider_id",
        "start",
        "end",
    }
    everything = b"".join(body for _, body in receiver.deliveries).decode()
    # The phone as stored and as typed: "555" alone turns up in a random id now and then.
    phone = ("5550142", "555-0142")
    for private in ("Ana", "Ruiz", "example.com", *phone, "back_pain", "Zq9"):
        assert private not in everything


async def test_a_tampered_body_or_an_old_timestamp_fails_verification(
    client: httpx.AsyncClient, relay: Relay, receiver: Receiver, clock: FrozenClock
) -> None:
    await create_request(client)
    await relay.drain()
    [(headers, body)] = receiver.deliveries
    signature = headers["Booking-Signature"]
    now = clock.now().timestamp()
    assert verify_signature(WEBHOOK_SECRET, signature, body, now=now)
    assert not verify_signature(
        WEBHOOK_SECRET, signature, body.replace(b"requested", b"confirmed"), now=now
    )
    assert not verify_signature("another secret entirely", signature, body, now=now)
    assert not verify_signature(WEBHOOK_SECRET, signature, body, now=now + 301)
    old = sign([WEBHOOK_SECRET], int(now) - 3600, body)
    assert not verify_signature(WEBHOOK_SECRET, old, body, now=now)
    assert not verify_signature(WEBHOOK_SECRET, "v1=abc", body, now=now)


async def test_a_failing_receiver_is_retried_and_a_410_stops_it(
    client: httpx.AsyncClient,
    app: FastAPI,
    relay: Relay,
    receiver: Receiver,
    clock: FrozenClock,
) -> None:
    receiver.answer = 503
    await create_request(client)
    await relay.drain()
    [hook] = [row for row in await outbox(app) if row.channel == "webhook"]
    assert hook.status == OutboxStatus.pending
    assert hook.last_error == "WebhookRejected 503"

    receiver.answer = 410
    clock.advance(dt.timedelta(minutes=5))
    await relay.drain()
    [hook] = [row for row in await outbox(app) if row.channel == "webhook"]
    assert hook.status == OutboxStatus.dead
    assert len(receiver.deliveries) == 2
    # The same event both times: a receiver dedupes on its id.
    assert (
        json.loads(receiver.deliveries[0][1])["id"] == json.loads(receiver.deliveries[1][1])["id"]
    )


async def test_webhooks_are_declared_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["webhooks"]["appointment-changed"]["post"]
    headers = {parameter["name"] for parameter in operation["parameters"]}
    assert "Booking-Signature" in headers
    assert "WebhookEvent" in spec["components"]["schemas"]


# --- who made the change -----------------------------------------------------------------------


async def test_the_source_tells_the_desk_the_patient_and_the_api_apart(
    client: httpx.AsyncClient,
    app: FastAPI,
    desk: dict[str, str],
    relay: Relay,
    receiver: Receiver,
) -> None:
    from booking.appointments import service as appointments
    from booking.appointments.lifecycle import Action
    from booking.appointments.models import EventSource
    from booking.appointments.schemas import ReasonRequest
    from booking.manage import service as manage
    from booking.staff.models import StaffAccount

    by_api = await create_request(client)
    by_desk = await create_request(client)
    by_patient = await create_request(client)
    by_system = await create_request(client)
    settings, now = app.state.settings, app.state.clock.now()
    async with app.state.sessionmaker() as session, session.begin():
        staff_id = (await session.execute(select(StaffAccount.id))).scalar_one()
        for appointment_id, actor in (
            (by_api, appointments.Actor.staff(staff_id)),
            (by_desk, appointments.Actor.staff(staff_id, EventSource.web)),
            (by_patient, manage.PATIENT),
            (by_system, appointments.Actor(source=EventSource.system)),
        ):
            context = appointments.ActionContext(actor=actor, settings=settings, now=now)
            command = ReasonRequest(reason="asked")
            await appointments.perform(
                session, context, Action.cancel, uuid.UUID(appointment_id), command
            )
    await relay.drain()
    cancelled = {
        event["data"]["appointment_id"]: event["source"]
        for event in (json.loads(body) for _, body in receiver.deliveries)
        if event["type"] == "appointment.cancelled"
    }
    assert cancelled == {
        by_api: "api",
        by_desk: "desk",
        by_patient: "patient",
        by_system: "system",
    }


# --- rotating the secret, and the verifiers integrators copy from the docs ---------------------

OLD_SECRET, NEW_SECRET = "the old webhook secret", "the new webhook secret"


def _printed_code(language: str) -> str:
    """The verifier as docs/notifications.md prints it, under its Webhooks heading."""
    docs = (Path(__file__).parents[2] / "docs" / "notifications.md").read_text()
    section = docs.split("## Webhooks", 1)[1].split("\n## ", 1)[0]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def _malformed_headers(good: str) -> list[object]:
    t, v1 = good.split(",")[:2]
    return [
        None,
        b"bytes",
        "",
        ",",
        "t=",
        "v1=",
        t,
        v1,
        f"{t},{t},{v1}",
        f"{t},v1=",
        f"{t},v1=xyz",
        f"{t},{v1.upper()}",
        f"{t},{v1},",
        f"{t} ,{v1}",
        f"t=-1,{v1}",
        f"t=1e9,{v1}",
        f"t=\u0661\u0662,{v1}",
        f"{t},{v1},v2={'0' * 64}",
        f"{t};{v1}",
        "garbage",
        f"{v1},{t}x",
    ]


async def test_while_rotating_every_secret_signs_and_the_printed_verifiers_agree(
    client: httpx.AsyncClient,
    settings: Settings,
    relay_named: Any,
    clock: FrozenClock,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    await create_request(client)
    # A worker configured mid-rotation: the new secret first, the old one still listed.
    rotating = settings.model_copy(update={"webhook_secret": f"{NEW_SECRET}, {OLD_SECRET}"})
    await relay_named("rotating", settings=rotating).drain()
    [(headers, body)] = receiver.deliveries
    header = headers["Booking-Signature"]
    now = clock.now().timestamp()
    assert header.count("v1=") == 2
    for secret in (NEW_SECRET, OLD_SECRET):
        assert verify_signature(secret, header, body, now=now)
    assert not verify_signature("a third secret, not listed", header, body, now=now)

    # The Python verifier, as printed.
    namespace: dict[str, Any] = {}
    exec(_printed_code("python"), namespace)  # our own docs, under test
    verify = namespace["verify"]
    for secret in (NEW_SECRET, OLD_SECRET):
        assert verify(secret, header, body, now=now) is True
    assert verify("a third secret, not listed", header, body, now=now) is False
    assert verify(NEW_SECRET, header, body + b" ", now=now) is False
    assert verify(NEW_SECRET, header, body, now=now + 301) is False
    malformed = _malformed_headers(header)
    for bad in malformed:
        assert verify(NEW_SECRET, bad, body, now=now) is False, bad
        if isinstance(bad, str):
            assert not verify_signature(NEW_SECRET, bad, body, now=now), bad

    # The JavaScript verifier, as printed, under node.
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is missing in CI: the printed JavaScript verifier is not checked")
        pytest.skip("node is not installed: the printed JavaScript verifier is not checked")
    cases = [
        {"secret": secret, "header": bad, "body": body.decode(), "now": now}
        for secret in (NEW_SECRET, OLD_SECRET, "a third secret, not listed")
        for bad in [header, *(b for b in malformed if not isinstance(b, bytes))]
    ]
    script = tmp_path / "verify.js"
    script.write_text(
        _printed_code("javascript")
        + "\nconst cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        "console.log(JSON.stringify(cases.map((c) => "
        "verify(c.secret, c.header, Buffer.from(c.body), 300, c.now))));\n"
    )
    process = await asyncio.create_subprocess_exec(
        node, str(script), stdin=PIPE, stdout=PIPE, stderr=PIPE
    )
    out, err = await process.communicate(json.dumps(cases).encode())
    assert process.returncode == 0, err.decode()
    verdicts = json.loads(out)
    expected = [
        case["header"] == header and case["secret"] != "a third secret, not listed"
        for case in cases
    ]
    assert verdicts == expected
