"""Signed webhooks to a real HTTP receiver, which verifies every delivery."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

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
    for private in ("Ana", "Ruiz", "example.com", "555", "back_pain", "Zq9"):
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
    old = sign(WEBHOOK_SECRET, int(now) - 3600, body)
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
