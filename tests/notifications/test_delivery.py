"""Nothing lost across an SMTP outage or a crashed worker; nothing sent twice by two workers."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.clock import FrozenClock
from booking.config import Settings
from booking.notifications import relay as relay_module
from booking.notifications.models import OutboxStatus
from booking.notifications.relay import Relay
from tests.helpers import chicago, confirm, create_request
from tests.notifications.helpers import RelayNamed, only, outbox
from tests.notifications.smtp import SmtpServer

PATIENT = "ana.ruiz@example.com"


async def test_smtp_down_during_a_confirm_the_email_arrives_when_it_is_back(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    app: FastAPI,
    relay: Relay,
    smtp_server: SmtpServer,
    clock: FrozenClock,
) -> None:
    appointment_id = await create_request(client)
    await relay.drain()
    smtp_server.stop()

    confirmed = await confirm(client, desk, appointment_id, start=chicago("2026-12-07", "09:30"))
    assert confirmed.status_code == 200  # the confirm does not wait for, or fail with, SMTP
    assert await relay.deliver_batch() == 1
    [waiting] = [row for row in await outbox(app) if row.status == OutboxStatus.pending]
    assert waiting.attempts == 1
    assert waiting.next_attempt_at > clock.now()
    assert waiting.last_error
    assert "@" not in waiting.last_error

    smtp_server.start()
    assert await relay.drain() == 0  # not due yet: backing off
    clock.advance(dt.timedelta(minutes=1))
    assert await relay.drain() == 1
    subjects = [message["Subject"] for message in only(smtp_server.messages, PATIENT)]
    assert subjects.count("Your appointment at Spine Practice is confirmed") == 1
    assert {row.status for row in await outbox(app)} == {OutboxStatus.sent}


async def test_a_550_goes_dead_after_one_attempt(
    client: httpx.AsyncClient, app: FastAPI, relay: Relay, smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.refuse_with = "550 5.1.1 No such user here"
    await create_request(client)
    await relay.drain()
    rows = await outbox(app)
    assert {row.status for row in rows} == {OutboxStatus.dead}
    assert {row.attempts for row in rows} == {1}
    assert {row.last_error for row in rows} == {"SMTP 550"}


async def test_transient_failures_go_dead_after_the_last_attempt(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    relay: Relay,
    smtp_server: SmtpServer,
    clock: FrozenClock,
) -> None:
    smtp_server.inbox.refuse_with = "451 4.3.0 Try again later"
    await create_request(client)
    for _ in range(settings.outbox_max_attempts):
        await relay.drain()
        clock.advance(dt.timedelta(hours=2))
    rows = await outbox(app)
    assert {row.status for row in rows} == {OutboxStatus.dead}
    assert {row.attempts for row in rows} == {settings.outbox_max_attempts}


async def test_a_worker_killed_after_sending_resends_its_batch_once_with_the_same_ids(
    client: httpx.AsyncClient,
    app: FastAPI,
    relay: Relay,
    smtp_server: SmtpServer,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_request(client)

    async def die(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("killed between sending and marking")

    with monkeypatch.context() as patch:
        patch.setattr(Relay, "_record", die)
        with pytest.raises(SystemExit):
            await relay.deliver_batch()
    assert len(smtp_server.messages) == 2  # the receipt and the desk's email went out
    assert await relay.drain() == 0  # the batch's lease still holds: nobody resends yet

    clock.advance(relay.send_lease + relay_module.CLAIM_LEASE + dt.timedelta(seconds=1))
    assert await relay.drain() == 2  # the lease lapsed: both again
    copies = collections.Counter(message["Message-ID"] for message in smtp_server.messages)
    # Each message of the batch in hand when the worker died went out twice, never more, with
    # the same Message-ID: a receiver can tell the resend.
    assert sorted(copies.values()) == [2, 2]
    assert len(only(smtp_server.messages, PATIENT)) == 2
    assert {row.status for row in await outbox(app)} == {OutboxStatus.sent}


async def test_two_workers_deliver_every_message_exactly_once(
    client: httpx.AsyncClient,
    settings: Settings,
    smtp_server: SmtpServer,
    relay_named: RelayNamed,
) -> None:
    for _ in range(30):
        await create_request(client)
    small_batches = settings.model_copy(update={"outbox_batch_size": 5})
    workers = [relay_named(name, settings=small_batches) for name in ("worker-1", "worker-2")]
    delivered = await asyncio.gather(*(worker.drain() for worker in workers))

    assert sum(delivered) == 60
    ids = collections.Counter(message["Message-ID"] for message in smtp_server.messages)
    assert len(ids) == 60
    assert set(ids.values()) == {1}


async def test_a_rolled_back_change_sends_nothing(
    client: httpx.AsyncClient,
    desk: dict[str, str],
    app: FastAPI,
    relay: Relay,
    smtp_server: SmtpServer,
) -> None:
    first, second = [await create_request(client) for _ in range(2)]
    await relay.drain()
    await confirm(client, desk, first, start=chicago("2026-12-07", "09:00"))
    clash = await confirm(client, desk, second, start=chicago("2026-12-07", "09:10"))
    assert clash.status_code == 409
    await relay.drain()
    confirmations = [
        message
        for message in smtp_server.messages
        if message["Subject"] == "Your appointment at Spine Practice is confirmed"
    ]
    assert len(confirmations) == 1
    assert len(await outbox(app)) == 5  # 2 x (patient + desk) + 1 confirmation


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    for attempts, low, high in [(1, 2.5, 5), (2, 5, 10), (5, 40, 80), (30, 1800, 3600)]:
        for _ in range(20):
            seconds = relay_module.backoff(attempts).total_seconds()
            assert low <= seconds <= high, (attempts, seconds)


async def test_a_slow_batch_renews_its_lease_so_no_other_relay_sends_its_messages(
    client: httpx.AsyncClient,
    app: FastAPI,
    clock: FrozenClock,
    smtp_server: SmtpServer,
    relay_named: RelayNamed,
) -> None:
    for _ in range(2):
        await create_request(client)  # four messages: two receipts, two desk emails
    sent: list[str] = []
    taken_by_other: list[int] = []
    other = relay_named("relay-b")

    class SlowNotifier:
        """Every send takes as long as a send may: the batch outlives its first lease."""

        async def send(self, message: Any) -> None:
            sent.append(str(message["Message-ID"]))
            clock.advance(slow.send_lease)
            taken_by_other.append(await other.deliver_batch())

        async def aclose(self) -> None:
            return None

    slow = relay_named("relay-a", notifier=SlowNotifier())
    assert await slow.deliver_batch() == 4

    assert taken_by_other == [0, 0, 0, 0]  # renewed in time: nobody else claimed them
    assert len(sent) == len(set(sent)) == 4
    assert smtp_server.messages == []
    assert {row.status for row in await outbox(app)} == {OutboxStatus.sent}
