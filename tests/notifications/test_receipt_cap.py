"""The public form cannot be used to mail one address over and over: request-received emails
to one address are capped per 24 hours; the requests are still stored and the desk still told
(issue 10, item 11)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.config import Settings
from booking.notifications.relay import Relay
from tests.factories import appointment_request
from tests.notifications.helpers import only, outbox
from tests.notifications.smtp import SmtpServer

PATIENT = "ana.ruiz@example.com"
DESK = "desk@spine.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite turns the cap off (its tests reuse one address); here it has its default."""
    default = Settings.model_fields["receipts_per_address_per_day"].default
    assert default == 3
    return settings.model_copy(update={"receipts_per_address_per_day": default})


def skipped(app: FastAPI) -> float:
    value = app.state.metrics.registry.get_sample_value("booking_receipt_emails_skipped_total")
    return float(value or 0)


async def post(client: httpx.AsyncClient, email: str = PATIENT) -> str:
    response = await client.post(
        "/api/v1/appointments", json=appointment_request(patient__email=email)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


async def test_receipts_to_one_address_stop_at_the_daily_cap_and_the_rest_still_flows(
    client: httpx.AsyncClient,
    app: FastAPI,
    relay: Relay,
    smtp_server: SmtpServer,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert app.state.settings.receipts_per_address_per_day == 3
    references = [await post(client) for _ in range(3)]
    with caplog.at_level(logging.INFO, logger="booking"):
        # The same address, written differently, is the same address.
        references.append(await post(client, "Ana.Ruiz@EXAMPLE.com"))
    await post(client, "someone.else@example.com")
    await relay.drain()

    assert len(only(smtp_server.messages, PATIENT)) == 3
    assert len(only(smtp_server.messages, "someone.else@example.com")) == 1
    assert len(only(smtp_server.messages, DESK)) == 5  # every request reaches the desk
    assert skipped(app) == 1
    [line] = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert references[-1] in line
    assert "ana" not in line.lower()
    assert "example" not in line

    # Only a keyed hash of the address is indexed, never the address or its bare SHA-256.
    hashes = {row.recipient_hash for row in await outbox(app) if row.event == "request_received"}
    assert len(hashes) == 2
    assert all(h and len(h) == 64 for h in hashes)
    assert hashlib.sha256(PATIENT.encode()).hexdigest() not in hashes
    others = [row for row in await outbox(app) if row.event != "request_received"]
    assert others
    assert all(row.recipient_hash is None for row in others)

    # A day later the address gets its emails again.
    clock.advance(dt.timedelta(hours=24, seconds=1))
    await post(client)
    await relay.drain()
    assert len(only(smtp_server.messages, PATIENT)) == 4
    assert skipped(app) == 1


async def test_a_cap_of_zero_is_no_cap(client: httpx.AsyncClient, app: FastAPI) -> None:
    for _ in range(4):
        await post(client)
    assert skipped(app) == 1
    app.state.settings = app.state.settings.model_copy(update={"receipts_per_address_per_day": 0})
    for _ in range(3):
        await post(client)
    assert skipped(app) == 1
    receipts = [row for row in await outbox(app) if row.event == "request_received"]
    assert len(receipts) == 3 + 3
